//! `server bench-matching`: the candidate search and matching decision against a large synthetic data set, timed,
//! and the matching quality over simulated sign-ins with realistic noise (`app::domain::synthetic::sign_in`).
//! Prints its figures; `docs/performance.md` records them.

use crate::config::Config;
use crate::db::{self, DynStore};
use crate::{seed, ServerError};
use app::domain::matching::{match_records, Evidence, MatchOutcome, MatchedVia};
use app::domain::synthetic::{sign_in, SimulatedSignIn};
use app::domain::validation::{parse_nino, parse_trn};
use std::time::{Duration, Instant};

pub struct MatchingArgs {
    pub records: u64,
    pub sign_ins: u64,
    pub seed: u64,
}

impl MatchingArgs {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let flags = crate::number_flags(
            args,
            &["--records", "--sign-ins", "--seed"],
            "--records N --sign-ins K --seed S",
        )?;
        let get = |flag: &str, default: u64| flags.get(flag).copied().unwrap_or(default);
        Ok(Self {
            records: get("--records", 2_000_000).min(9_000_000),
            sign_ins: get("--sign-ins", 10_000),
            seed: get("--seed", 1),
        })
    }
}

#[derive(Default)]
struct Tally {
    automatic: u64,
    by_nino: u64,
    by_trn: u64,
    /// Connected to a record that is not theirs, or to a deactivated record. Must be zero.
    false_connections: u64,
    /// Sent to support although their active record exists (the cost of caution).
    support_with_record: u64,
    /// Sent to support with no active record to find (correct).
    support_without_record: u64,
    flagged: u64,
}

/// Searches and decides once, timing it.
async fn decide(
    store: &DynStore,
    evidence: &Evidence,
    times: &mut Vec<Duration>,
) -> Result<MatchOutcome, ServerError> {
    let started = Instant::now();
    let candidates = store.find_candidates(evidence, 0).await?;
    let outcome = match_records(evidence, &candidates);
    times.push(started.elapsed());
    Ok(outcome)
}

/// The journey without the pages: automatic, then with the NINO they would type, then with the TRN.
async fn simulate(
    store: &DynStore,
    person: &SimulatedSignIn,
    times: &mut Vec<Duration>,
) -> Result<MatchOutcome, ServerError> {
    let mut evidence = Evidence::from_identity(&person.identity, Some(&person.email));
    let outcome = decide(store, &evidence, times).await?;
    if outcome.connected_trn().is_some() {
        return Ok(outcome);
    }
    let mut last = outcome;
    if let Some(nino) = person
        .stated_nino
        .as_deref()
        .and_then(|n| parse_nino(n).ok())
    {
        evidence = evidence.with_nino(nino);
        last = decide(store, &evidence, times).await?;
        if last.connected_trn().is_some() {
            return Ok(last);
        }
    }
    if let Some(trn) = person.stated_trn.as_deref().and_then(|t| parse_trn(t).ok()) {
        evidence = evidence.with_trn(trn);
        last = decide(store, &evidence, times).await?;
    }
    Ok(last)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at].as_secs_f64() * 1000.0
}

pub async fn matching(config: &Config, args: MatchingArgs) -> Result<(), ServerError> {
    let store = db::connect(&config.database_url, config.database_max_connections).await?;
    let have = store.count_records().await? as u64;
    if have < args.records {
        let started = Instant::now();
        seed::seed_store(&store, have, args.records - have, args.seed).await?;
        println!(
            "seeded {} records in {:.1} s",
            args.records - have,
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "backend: {:?}; records: {}; sign-ins: {}; seed: {}",
        store.backend(),
        args.records,
        args.sign_ins,
        args.seed
    );

    let mut times = Vec::new();
    let mut tally = Tally::default();
    for n in 0..args.sign_ins {
        let person = sign_in(n, args.seed, args.records);
        let outcome = simulate(&store, &person, &mut times).await?;
        let theirs = person
            .truth
            .as_ref()
            .filter(|(_, active)| *active)
            .map(|(trn, _)| trn.as_str());
        match &outcome {
            MatchOutcome::Connect { trn, via } => {
                if Some(trn.as_str()) != theirs {
                    tally.false_connections += 1;
                    eprintln!(
                        "FALSE CONNECTION: sign-in {n} connected to {trn}, theirs is {theirs:?}"
                    );
                }
                match via {
                    MatchedVia::Automatic => tally.automatic += 1,
                    MatchedVia::Nino => tally.by_nino += 1,
                    MatchedVia::Trn => tally.by_trn += 1,
                }
            }
            other => {
                if other.support_flag().is_some() {
                    tally.flagged += 1;
                }
                if theirs.is_some() {
                    tally.support_with_record += 1;
                } else {
                    tally.support_without_record += 1;
                }
            }
        }
    }

    times.sort();
    let total: Duration = times.iter().sum();
    println!(
        "candidate search + decision: {} searches, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
        total.as_secs_f64() * 1000.0 / times.len().max(1) as f64
    );
    let share = |k: u64| 100.0 * k as f64 / args.sign_ins.max(1) as f64;
    println!(
        "connected automatically: {} ({:.1}%); by NINO: {} ({:.1}%); by TRN: {} ({:.1}%)",
        tally.automatic,
        share(tally.automatic),
        tally.by_nino,
        share(tally.by_nino),
        tally.by_trn,
        share(tally.by_trn)
    );
    println!(
        "sent to support: {} ({:.1}%) — with an active record to find: {}, without: {}; flagged: {}",
        tally.support_with_record + tally.support_without_record,
        share(tally.support_with_record + tally.support_without_record),
        tally.support_with_record,
        tally.support_without_record,
        tally.flagged
    );
    println!("false connections: {}", tally.false_connections);

    // The plan of a search with every kind of evidence, from a sign-in that has a record.
    if let Some(person) = (0..args.sign_ins.min(1000))
        .map(|n| sign_in(n, args.seed, args.records))
        .find(|p| p.truth.is_some() && p.stated_nino.is_some() && p.stated_trn.is_some())
    {
        let mut evidence = Evidence::from_identity(&person.identity, Some(&person.email));
        if let Some(nino) = person
            .stated_nino
            .as_deref()
            .and_then(|n| parse_nino(n).ok())
        {
            evidence = evidence.with_nino(nino);
        }
        if let Some(trn) = person.stated_trn.as_deref().and_then(|t| parse_trn(t).ok()) {
            evidence = evidence.with_trn(trn);
        }
        println!("query plan (names, date of birth, email, NINO and TRN):");
        for line in store.candidate_plan(&evidence).await? {
            println!("  {line}");
        }
    }
    if tally.false_connections > 0 {
        return Err(ServerError::Bench(format!(
            "{} false connections",
            tally.false_connections
        )));
    }
    Ok(())
}
