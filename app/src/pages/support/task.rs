//! `/support/tasks/:reference`: a task, its decision form and the check page.

use super::*;
use crate::components::radios::{Legend, Radios};
use crate::components::summary_list::SummaryRow;
use crate::components::text_input::TextInput;

/// A summary list of what we hold, without change links.
fn summary_list(rows: Vec<crate::domain::support::Row>) -> AnyView {
    crate::components::summary_list::summary_list(rows.into_iter().map(SummaryRow::from), None)
}

fn reference_param() -> String {
    use_params_map()
        .with_untracked(|p| p.get("reference"))
        .unwrap_or_default()
}

/// `/support/tasks/:reference`: what the teacher gave and typed, their proof, suggested records, and the decision.
#[component]
pub fn TaskPage() -> impl IntoView {
    let reference = reference_param();
    view! {
        <ConsolePage load=move || load_task(reference.clone()) render=|v| task_page(v).into_any() />
    }
}

fn task_page(v: crate::server_fns::console::TaskPageView) -> impl IntoView {
    let crate::server_fns::console::TaskPageView {
        me,
        task,
        pending,
        pending_input,
    } = v;
    let may_work = me.staff.may(Permission::WorkTasks);
    let title = format!("{} – {}", task.reference, task.kind.label());
    let has_errors = !me.errors.is_empty();
    let proof = task.proof.clone().map(|p| {
        let inline = if p.content_type == "application/pdf" {
            view! {
                <object
                    data=p.href.clone()
                    type="application/pdf"
                    class="app-proof"
                    aria-label="Proof of identity (PDF)"
                >
                    <p class="govuk-body">"Your browser cannot show this PDF here."</p>
                </object>
            }
            .into_any()
        } else {
            view! { <img src=p.href.clone() alt="Proof of identity sent by the teacher" class="app-proof" /> }.into_any()
        };
        view! {
            <h2 class="govuk-heading-m">"Proof of identity"</h2>
            {inline}
            <p class="govuk-body">
                <a class="govuk-link" href=format!("{}?download=1", p.href) rel="external">
                    {format!("Download {} ({})", p.file_name, p.size)}
                </a>
            </p>
        }
    });
    let assign = (may_work && task.decided.is_none()).then(|| assign_form(&me, &task));
    let decision = match (&task.decided, may_work) {
        (Some(d), _) => view! {
            <h2 class="govuk-heading-m">"Decision"</h2>
            {summary_list(
                vec![
                    crate::domain::support::Row::new("Decision", d.summary.clone()),
                    crate::domain::support::Row::new("Decided by", d.by.clone()),
                    crate::domain::support::Row::new("Decided on", when(d.at)),
                ],
            )}
            {(!task.history.is_empty())
                .then(|| {
                    view! {
                        <h2 class="govuk-heading-m">"Change history of the record"</h2>
                        <ul class="govuk-list" data-testid="history">
                            {task
                                .history
                                .iter()
                                .map(|h| {
                                    view! {
                                        <li>
                                            <span class="govuk-body-s govuk-!-display-block">
                                                {when(h.at)}
                                            </span>
                                            {h.text.clone()}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                })}
        }
        .into_any(),
        (None, true) => decision_form(&me, &task, pending_input).into_any(),
        (None, false) => {
            view! { <p class="govuk-body">"You can view this task but not decide it."</p> }
                .into_any()
        }
    };
    view! {
        <PageTitle text=title has_errors />
        <ConsoleNav me=me.clone() current="" />
        <a href=me.tasks_href.clone() class="govuk-back-link">
            "Back to tasks"
        </a>
        <Banner text=me.banner.clone() />
        <ErrorSummary errors=me.errors.clone() />
        <span class="govuk-caption-l">{task.kind.label()}</span>
        <h1 class="govuk-heading-l">{task.reference.clone()}</h1>
        <p class="govuk-body">
            <strong class=status_tag(task.status)>{task.status.label()}</strong>
            {format!(" Requested {}", when(task.requested_at))}
            <span data-testid="task-service">
                {format!(
                    " through {}",
                    crate::domain::support::service_text(task.service.as_deref()),
                )}
            </span>
            {(!task.flags.is_empty())
                .then(|| format!(". Matching said: {}", task.flags.join("; ")))}
        </p>
        {pending
            .map(|p| {
                view! {
                    <div class="govuk-inset-text">
                        {format!("You have a decision waiting to be confirmed: {p}. ")}
                        <a class="govuk-link" href=format!("{}/check", task_href(&task.reference))>
                            "Check and confirm it"
                        </a>
                    </div>
                }
            })}
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                // An account holder may never have used One Login: their rows are the account's.
                <h2 class="govuk-heading-m">
                    {if task.kind == TaskKind::AccountRecordMatching {
                        "Their DfE Identity account"
                    } else {
                        "What GOV.UK One Login gave us"
                    }}
                </h2>
                {summary_list(task.one_login.clone())}
                <h2 class="govuk-heading-m">"Additional information"</h2>
                <p class="govuk-body">"What the teacher entered."</p>
                {summary_list(task.additional.clone())}
                {proof}
                {suggestions(&task)}
                {decision}
                {disconnect_section(&me, &task)}
            </div>
            <div class="govuk-grid-column-one-third">{assign}</div>
        </div>
    }
}

fn suggestions(task: &crate::domain::support::TaskView) -> impl IntoView {
    (task.decided.is_none()).then(|| {
        let cards = task
            .suggestions
            .iter()
            .map(|s| {
                view! {
                    <div class="govuk-summary-card" data-testid="suggested-record">
                        <div class="govuk-summary-card__title-wrapper">
                            <h3 class="govuk-summary-card__title">
                                {format!("{} – TRN {}", s.name, s.trn)}
                            </h3>
                            {s
                                .connected_elsewhere
                                .then(|| {
                                    view! {
                                        <strong class="govuk-tag govuk-tag--red">
                                            "Connected to someone else"
                                        </strong>
                                    }
                                })}
                            {s
                                .deactivated
                                .then(|| {
                                    view! {
                                        <strong class="govuk-tag govuk-tag--grey">
                                            "Deactivated"
                                        </strong>
                                    }
                                })}
                            {s
                                .found_by
                                .clone()
                                .map(|by| {
                                    view! {
                                        <strong
                                            class="govuk-tag govuk-tag--yellow"
                                            data-testid="found-by"
                                        >
                                            {by}
                                        </strong>
                                    }
                                })}
                        </div>
                        <div class="govuk-summary-card__content">
                            {crate::components::summary_list::summary_list(
                                s
                                    .fields
                                    .iter()
                                    .map(|f| {
                                        let tag = match f.outcome {
                                            Comparison::Matches => {
                                                view! {
                                                    <strong class="govuk-tag govuk-tag--green">
                                                        "Matches"
                                                    </strong>
                                                }
                                                    .into_any()
                                            }
                                            Comparison::DoesNotMatch => {
                                                view! {
                                                    <strong class="govuk-tag govuk-tag--grey">
                                                        "Does not match"
                                                    </strong>
                                                }
                                                    .into_any()
                                            }
                                            Comparison::NotCompared => ().into_any(),
                                        };
                                        SummaryRow::new(f.label.clone(), f.value.clone())
                                            .action(tag)
                                    }),
                                None,
                            )}
                        </div>
                    </div>
                }
            })
            .collect_view();
        view! {
            <h2 class="govuk-heading-m">"Suggested records"</h2>
            {if task.suggestions.is_empty() {
                view! {
                    <p class="govuk-body">
                        "We found no records that could match. You can still connect a record by its TRN."
                    </p>
                }
                    .into_any()
            } else {
                cards.into_any()
            }}
        }
    })
}

fn assign_form(me: &Me, task: &crate::domain::support::TaskView) -> impl IntoView {
    let action = format!("{}/assign", task_href(&task.reference));
    let current = task
        .assignee
        .as_ref()
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| "none".into());
    let error = error_for(&me.errors, "assignee");
    let group = with_error_class("govuk-form-group", &error);
    view! {
        <h2 class="govuk-heading-m">"Assigned to"</h2>
        <p class="govuk-body" data-testid="assignee">
            {task.assignee.as_ref().map(|(_, n)| n.clone()).unwrap_or_else(|| "Nobody".into())}
        </p>
        {(task.assignee.as_ref().map(|(id, _)| *id) != Some(me.staff.id))
            .then(|| {
                view! {
                    <form method="post" action=action.clone()>
                        <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
                        <input type="hidden" name="version" value=task.version.to_string() />
                        <input type="hidden" name="assignee" value="me" />
                        <button
                            type="submit"
                            class="govuk-button govuk-button--secondary"
                            data-module="govuk-button"
                        >
                            "Assign to me"
                        </button>
                    </form>
                }
            })}
        <form method="post" action=action>
            <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
            <input type="hidden" name="version" value=task.version.to_string() />
            <div class=group>
                <label class="govuk-label" for="assignee">
                    "Assign to someone else"
                </label>
                <ErrorMessage id="assignee-error".to_string() message=error />
                <select class="govuk-select" id="assignee" name="assignee">
                    <option value="none" selected=current == "none">
                        "Nobody"
                    </option>
                    {task
                        .assignable
                        .iter()
                        .map(|(id, name)| {
                            let v = id.to_string();
                            let is = v == current;
                            view! {
                                <option value=v selected=is>
                                    {name.clone()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <button
                type="submit"
                class="govuk-button govuk-button--secondary"
                data-module="govuk-button"
            >
                "Assign"
            </button>
        </form>
    }
}

/// For administrators, while the teacher is connected: undo the connection, with a reason the teacher is sent.
/// A reason first, then a check step with what will happen, then the confirmation: plain forms, no JavaScript.
fn disconnect_section(me: &Me, task: &crate::domain::support::TaskView) -> Option<AnyView> {
    use crate::domain::support::Row;
    let connection = task.connection.clone()?;
    if !me.staff.may(Permission::Disconnect) {
        return None;
    }
    let action = crate::domain::support::disconnect_href(&task.reference);
    let checking = me.values.get("disconnect_step").map(String::as_str) == Some("check");
    let reason = me
        .values
        .get("disconnect_reason")
        .cloned()
        .unwrap_or_default();
    let error = error_for(&me.errors, "disconnect_reason");
    let csrf = me.csrf_token.clone();
    let record = format!("{} – TRN {}", connection.record_name, connection.trn);
    // How this teacher signs in (an account holder may never have used One Login), as the history names it.
    let way_in = crate::domain::support::WayIn::of_task(task.kind).as_str();
    Some(if checking {
        view! {
            <div id="disconnect" data-testid="disconnect-check">
                <h2 class="govuk-heading-m">"Check before you disconnect the record"</h2>
                {summary_list(
                    vec![
                        Row::new("Record", record),
                        Row::new(way_in, connection.one_login_email.clone()),
                        Row::new("Reason", reason.clone()),
                    ],
                )}
                <div class="govuk-warning-text">
                    <span class="govuk-warning-text__icon" aria-hidden="true">
                        "!"
                    </span>
                    <strong class="govuk-warning-text__text">
                        <span class="govuk-visually-hidden">"Warning"</span>
                        "The teacher will no longer see this record. We will email them the reason, and they will need to answer our questions again to connect a record."
                    </strong>
                </div>
                <form method="post" action=action>
                    <input type="hidden" name="csrf_token" value=csrf />
                    <input type="hidden" name="action" value="confirm" />
                    <input type="hidden" name="disconnect_reason" value=reason />
                    <input type="hidden" name="trn" value=connection.trn.clone() />
                    <div class="govuk-button-group">
                        <button
                            type="submit"
                            class="govuk-button govuk-button--warning"
                            data-module="govuk-button"
                        >
                            "Disconnect the record"
                        </button>
                        <a class="govuk-link" href=task_href(&task.reference) rel="external">
                            "Cancel"
                        </a>
                    </div>
                </form>
            </div>
        }
        .into_any()
    } else {
        view! {
            <div id="disconnect">
                <h2 class="govuk-heading-m">"Disconnect the record"</h2>
                <p class="govuk-body">
                    {format!(
                        "This teacher’s {way_in} is connected to the record of {record}. If that is wrong, you can undo the connection.",
                    )}
                </p>
                <form method="post" action=action novalidate>
                    <input type="hidden" name="csrf_token" value=csrf />
                    <input type="hidden" name="action" value="continue" />
                    {TextInput::new(
                            "disconnect_reason",
                            "Why are you disconnecting the record? The teacher will be sent this",
                            reason,
                            error,
                        )
                        .textarea()
                        .render()}
                    <button
                        type="submit"
                        class="govuk-button govuk-button--secondary"
                        data-module="govuk-button"
                    >
                        "Continue"
                    </button>
                </form>
            </div>
        }
        .into_any()
    })
}

fn decision_form(
    me: &Me,
    task: &crate::domain::support::TaskView,
    pending: Option<crate::domain::support::DecisionInput>,
) -> impl IntoView {
    // What was typed last (after an error), else the decision waiting on the check page ("Change" or "Back"
    // from there), else the saved draft.
    let values = if !me.values.is_empty() {
        me.values.clone()
    } else if let Some(pending) = pending {
        pending.values()
    } else {
        task.draft.clone().map(|d| d.values()).unwrap_or_default()
    };
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let errors = &me.errors;
    let identity = task.kind == TaskKind::IdentityVerification;
    // An account's task (DESIGN §7.3): a TRN is assigned to the account rather than a record connected to a One
    // Login, "no TRN" stops its look-ups, and it may be merged into another account.
    let account = task.kind == TaskKind::AccountRecordMatching;
    let other_trn = TextInput::new(
        "other_trn",
        "TRN",
        get("other_trn"),
        error_for(errors, "other_trn"),
    )
    .width("govuk-input--width-10")
    .render();
    let record_radios = task
        .suggestions
        .iter()
        .filter(|s| !s.connected_elsewhere && !s.deactivated)
        .fold(
            Radios::new(
                "trn",
                Legend::Small("Which record?"),
                get("trn"),
                error_for(errors, "trn"),
            ),
            |radios, s| radios.item(s.trn.clone(), format!("{} – TRN {}", s.name, s.trn)),
        )
        .revealing(OTHER_TRN, "Another record (enter its TRN)", other_trn)
        .render();
    // "Another reason" reveals a box for it.
    let reasons = |name: &'static str,
                   detail: &'static str,
                   legend: &'static str,
                   all: Vec<(&'static str, &'static str)>| {
        all.into_iter()
            .fold(
                Radios::new(
                    name,
                    Legend::Small(legend),
                    get(name),
                    error_for(errors, name),
                ),
                |radios, (value, label)| {
                    if value == "other" {
                        let why = TextInput::new(
                            detail,
                            "Give the reason",
                            get(detail),
                            error_for(errors, detail),
                        )
                        .textarea()
                        .render();
                        radios.revealing(value, label, why)
                    } else {
                        radios.item(value, label)
                    }
                },
            )
            .render()
    };
    let not_connected = reasons(
        "reason",
        "reason_detail",
        "Why not?",
        NotConnectedReason::ALL
            .iter()
            .map(|r| (r.as_str(), r.label()))
            .collect(),
    );
    let mut outcome_radios = Radios::new(
        "outcome",
        Legend::Small("What is your decision?"),
        get("outcome"),
        error_for(errors, "outcome"),
    )
    .revealing(
        "connect",
        if identity {
            "Verify their identity and connect a record"
        } else if account {
            "Assign a TRN"
        } else {
            "Connect a record"
        },
        record_radios,
    )
    .revealing(
        "do_not_connect",
        if identity {
            "Verify their identity but do not connect a record"
        } else if account {
            "No TRN: they do not have a teaching record"
        } else {
            "Do not connect a record"
        },
        not_connected,
    );
    if identity {
        let reject = reasons(
            "reject_reason",
            "reject_reason_detail",
            "Why?",
            RejectReason::ALL
                .iter()
                .map(|r| (r.as_str(), r.label()))
                .collect(),
        );
        outcome_radios = outcome_radios.revealing("reject", "Reject the request", reject);
    }
    if account {
        let other_account = TextInput::new(
            "merge_email",
            "Email address of the other account",
            get("merge_email"),
            error_for(errors, "merge_email"),
        )
        .hint("The other account is kept, with its email address. This account's record, tasks and history move to it.")
        .render();
        outcome_radios = outcome_radios.revealing(
            "merge",
            "Merge with another account (the same person)",
            other_account,
        );
    }
    let outcome_radios = outcome_radios.render();
    view! {
        <h2 class="govuk-heading-m" id="decision">
            "Decision"
        </h2>
        <form method="post" action=format!("{}/decision", task_href(&task.reference)) novalidate>
            <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
            <input type="hidden" name="version" value=task.version.to_string() />
            {outcome_radios}
            <div class="govuk-button-group">
                <button
                    type="submit"
                    name="action"
                    value="continue"
                    class="govuk-button"
                    data-module="govuk-button"
                >
                    "Continue"
                </button>
                <button
                    type="submit"
                    name="action"
                    value="save"
                    class="govuk-button govuk-button--secondary"
                    data-module="govuk-button"
                >
                    "Save and come back later"
                </button>
            </div>
        </form>
    }
}

/// `/support/tasks/:reference/check`: the decision in words, and "Confirm".
#[component]
pub fn CheckDecisionPage() -> impl IntoView {
    let reference = reference_param();
    view! {
        <ConsolePage
            load=move || load_task(reference.clone())
            render=|v| check_page(v).into_any()
        />
    }
}

fn check_page(v: crate::server_fns::console::TaskPageView) -> impl IntoView {
    let crate::server_fns::console::TaskPageView {
        me, task, pending, ..
    } = v;
    let back = task_href(&task.reference);
    let Some(pending) = pending else {
        return view! {
            <PageTitle text="There is no decision to check".to_string() />
            <h1 class="govuk-heading-l">"There is no decision to check"</h1>
            <p class="govuk-body">
                <a class="govuk-link" href=back>
                    "Go back to the task"
                </a>
            </p>
        }
        .into_any();
    };
    view! {
        <PageTitle text=format!("Check your decision on task {}", task.reference) />
        <ConsoleNav me=me.clone() current="" />
        <a href=back.clone() class="govuk-back-link">
            "Back"
        </a>
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <span class="govuk-caption-l">{task.reference.clone()}</span>
                <h1 class="govuk-heading-l">"Check your decision"</h1>
                {crate::components::summary_list::summary_list(
                    [
                        SummaryRow::new("Decision", pending)
                            .value_testid("pending-decision")
                            .change(format!("{back}#decision"), " decision", false),
                    ],
                    None,
                )}
                <p class="govuk-body">
                    "When you confirm, we’ll email the teacher to tell them."
                </p>
                <form method="post" action=format!("{back}/confirm")>
                    <input type="hidden" name="csrf_token" value=me.csrf_token.clone() />
                    <button
                        type="submit"
                        class="govuk-button"
                        data-module="govuk-button"
                        data-prevent-double-click="true"
                    >
                        "Confirm decision"
                    </button>
                </form>
            </div>
        </div>
    }
    .into_any()
}
