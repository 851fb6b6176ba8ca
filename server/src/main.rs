//! The Teacher ID server: serves the service, and offers commands to migrate and seed the database.
//!
//! ```text
//! server                                   serve (the default)
//! server migrate                           run database migrations and stop
//! server seed --records N [--seed S]       add N synthetic teaching records (deterministic for a seed)
//! server staff add --email E --role R [--name N]
//!                                          give a member of staff a role (viewer, support_officer, administrator)
//! server bench-console [--tasks N] [--runs R] [--emails E]
//!                                          time the support dashboard's queries over N tasks, the live feed's
//!                                          latency and the email outbox's throughput
//! server bench-baseline FILE ADDR          serve FILE's bytes from a bare axum handler (benchmark reference)
//! server bench-matching [--records N] [--sign-ins K] [--seed S]
//!                                          time candidate search + matching over N records (seeding up to N)
//!                                          and report matching quality over K simulated sign-ins
//! ```

use server::config::Config;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A page rendered by a debug build nests its views' futures deeply enough to overflow the 2 MiB a worker thread
    // gets by default (the support dashboard did); 8 MiB leaves room. Release builds need far less.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("could not start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    server::telemetry::init(&config);
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => server::serve(config).await,
        Some("migrate") => server::migrate(&config).await,
        Some("seed") => match server::SeedArgs::parse(&args[1..]) {
            Ok(seed) => server::seed(&config, seed).await,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
        Some("staff") if args.get(1).map(String::as_str) == Some("add") => {
            match server::StaffAddArgs::parse(&args[2..]) {
                Ok(staff) => server::staff_add(&config, staff).await,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            }
        }
        Some("bench-matching") => match server::bench::MatchingArgs::parse(&args[1..]) {
            Ok(bench) => server::bench::matching(&config, bench).await,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
        Some("bench-console") => match server::bench::ConsoleArgs::parse(&args[1..]) {
            Ok(bench) => server::bench::console(&config, bench).await,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
        Some("bench-baseline") => match (args.get(1), args.get(2).and_then(|a| a.parse().ok())) {
            (Some(file), Some(addr)) => server::bench_baseline(file, addr).await,
            _ => {
                eprintln!("usage: server bench-baseline FILE ADDR");
                return ExitCode::from(2);
            }
        },
        Some(other) => {
            eprintln!(
                "unknown command `{other}`: expected serve, migrate, seed --records N [--seed S], staff add, bench-matching, bench-console or bench-baseline"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "stopped");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
