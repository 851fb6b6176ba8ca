//! `/support/staff`: roles; and the console's signed-out and sign-in problem pages.

use super::*;

/// `/support/staff`: administrators grant and remove roles.
#[component]
pub fn StaffPage() -> impl IntoView {
    view! {
        <ConsolePage
            load=load_staff
            render=|v| {
                let crate::server_fns::console::StaffView { me, staff } = v;
                let has_errors = !me.errors.is_empty();
                view! {
                    <PageTitle text="Staff".to_string() has_errors />
                    <ConsoleNav me=me.clone() current=routes::SUPPORT_STAFF />
                    <Banner text=me.banner.clone() />
                    <ErrorSummary errors=me.errors.clone() />
                    <h1 class="govuk-heading-l">"Staff"</h1>
                    <p class="govuk-body">
                        "Everyone who has signed in, or been added. Someone without a role can sign in but sees nothing."
                    </p>
                    <table
                        class="govuk-table app-responsive-table"
                        role="table"
                        data-testid="staff"
                    >
                        <caption class="govuk-table__caption govuk-visually-hidden">
                            "Staff and their roles"
                        </caption>
                        <thead class="govuk-table__head" role="rowgroup">
                            <tr class="govuk-table__row" role="row">
                                <th scope="col" role="columnheader" class="govuk-table__header">
                                    "Name"
                                </th>
                                <th scope="col" role="columnheader" class="govuk-table__header">
                                    "Email"
                                </th>
                                <th scope="col" role="columnheader" class="govuk-table__header">
                                    "Role"
                                </th>
                            </tr>
                        </thead>
                        <tbody class="govuk-table__body" role="rowgroup">
                            {staff
                                .into_iter()
                                .map(|s| {
                                    let field = format!("role-{}", s.id);
                                    let error = error_for(&me.errors, &field);
                                    let group = with_error_class(
                                        "govuk-form-group govuk-!-margin-bottom-0",
                                        &error,
                                    );
                                    let current = s.role.map(Role::as_str).unwrap_or("none");
                                    let label = format!("Role for {}", s.name);
                                    view! {
                                        <tr class="govuk-table__row" role="row">
                                            <td
                                                class="govuk-table__cell app-break-anywhere"
                                                role="cell"
                                            >
                                                {cell_heading("Name")}
                                                {s.name.clone()}
                                            </td>
                                            <td
                                                class="govuk-table__cell app-break-anywhere"
                                                role="cell"
                                            >
                                                {cell_heading("Email")}
                                                {s.email.clone()}
                                            </td>
                                            <td class="govuk-table__cell" role="cell">
                                                {cell_heading("Role")}
                                                <form
                                                    method="post"
                                                    action=routes::SUPPORT_STAFF
                                                    class="app-inline-form"
                                                >
                                                    <input
                                                        type="hidden"
                                                        name="csrf_token"
                                                        value=me.csrf_token.clone()
                                                    />
                                                    <input
                                                        type="hidden"
                                                        name="staff_id"
                                                        value=s.id.to_string()
                                                    />
                                                    <div class=group>
                                                        <label
                                                            class="govuk-label govuk-visually-hidden"
                                                            for=field.clone()
                                                        >
                                                            {label}
                                                        </label>
                                                        <ErrorMessage id=format!("{field}-error") message=error />
                                                        <select class="govuk-select" id=field name="role">
                                                            <option value="none" selected=current == "none">
                                                                "No role"
                                                            </option>
                                                            {Role::ALL
                                                                .iter()
                                                                .map(|r| {
                                                                    view! {
                                                                        <option value=r.as_str() selected=current == r.as_str()>
                                                                            {r.label()}
                                                                        </option>
                                                                    }
                                                                })
                                                                .collect_view()}
                                                        </select>
                                                        <button
                                                            type="submit"
                                                            class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0"
                                                            data-module="govuk-button"
                                                        >
                                                            "Save"
                                                            <span class="govuk-visually-hidden">
                                                                {format!(" role for {}", s.name)}
                                                            </span>
                                                        </button>
                                                    </div>
                                                </form>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                    .into_any()
            }
        />
    }
}

#[component]
pub fn StaffSignedOutPage() -> impl IntoView {
    view! {
        <PageTitle text="You have signed out of the support console".to_string() />
        <h1 class="govuk-heading-l">"You have signed out of the support console"</h1>
        <p class="govuk-body">
            <a class="govuk-link" href=routes::SUPPORT_SIGN_IN rel="external">
                "Sign in again"
            </a>
        </p>
    }
}

#[component]
pub fn StaffSignInProblemPage() -> impl IntoView {
    view! {
        <PageTitle text="Sorry, there was a problem signing you in".to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-l">"Sorry, there was a problem signing you in"</h1>
                <p class="govuk-body">
                    "Your sign-in may have taken too long, or the sign-in service may be having problems."
                </p>
                <p class="govuk-body">
                    <a class="govuk-link" href=routes::SUPPORT_SIGN_IN rel="external">
                        "Try signing in again"
                    </a>
                </p>
            </div>
        </div>
    }
}
