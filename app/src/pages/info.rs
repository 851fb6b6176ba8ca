//! The pages every GOV.UK service links from its footer: accessibility statement, cookies and privacy.

use crate::components::page_title::PageTitle;
use leptos::prelude::*;

#[component]
fn InfoPage(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <PageTitle text=title.to_string() />
        <div class="govuk-grid-row">
            <div class="govuk-grid-column-two-thirds">
                <h1 class="govuk-heading-xl">{title}</h1>
                {children()}
            </div>
        </div>
    }
}

#[component]
pub fn AccessibilityPage() -> impl IntoView {
    view! {
        <InfoPage title="Accessibility statement for Teacher ID">
            <p class="govuk-body">
                "This statement applies to Teacher ID, the service teachers in England use to sign in with GOV.UK One Login and see their teaching record. It is run by the Department for Education (DfE)."
            </p>
            <p class="govuk-body">
                "We want as many people as possible to be able to use this service. You should be able to:"
            </p>
            <ul class="govuk-list govuk-list--bullet">
                <li>
                    "change colours, contrast levels and fonts using your browser or device settings"
                </li>
                <li>"zoom in up to 400% without the text spilling off the screen"</li>
                <li>
                    "navigate the whole service using just a keyboard or speech recognition software"
                </li>
                <li>"listen to the whole service using a screen reader"</li>
                <li>"use the whole service with JavaScript turned off"</li>
            </ul>
            <h2 class="govuk-heading-m">"How accessible this service is"</h2>
            <p class="govuk-body">
                "This service is built with the GOV.UK Design System and is tested on every change with automated accessibility checks against the Web Content Accessibility Guidelines (WCAG) version 2.2 AA standard, with and without JavaScript. We do not know of any parts that are not accessible."
            </p>
            <h2 class="govuk-heading-m">"Feedback and contact information"</h2>
            <p class="govuk-body">
                "If you find a problem, or you need information in a different format such as large print, audio or braille, email "
                <a class="govuk-link" href="mailto:teacher.id@education.gov.uk">
                    "teacher.id@education.gov.uk"
                </a> ". We’ll reply within 5 working days."
            </p>
            <h2 class="govuk-heading-m">"Enforcement procedure"</h2>
            <p class="govuk-body">
                "The Equality and Human Rights Commission (EHRC) is responsible for enforcing the Public Sector Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018. If you’re not happy with how we respond to your complaint, contact the "
                <a class="govuk-link" href="https://www.equalityadvisoryservice.com/">
                    "Equality Advisory and Support Service (EASS)"
                </a> "."
            </p>
            <h2 class="govuk-heading-m">"Compliance status"</h2>
            <p class="govuk-body">
                "This service is fully compliant with the Web Content Accessibility Guidelines version 2.2 AA standard."
            </p>
            <p class="govuk-body">"This statement was prepared on 23 November 2026."</p>
        </InfoPage>
    }
}

#[component]
pub fn CookiesPage() -> impl IntoView {
    view! {
        <InfoPage title="Cookies">
            <p class="govuk-body">
                "Cookies are small files saved on your phone, tablet or computer when you visit a website. Teacher ID only uses cookies that are essential to make the service work, so we do not ask for your permission to use them."
            </p>
            <p class="govuk-body">
                "We do not use cookies to measure how you use the service, and we do not use any advertising cookies."
            </p>
            <table class="govuk-table">
                <caption class="govuk-table__caption govuk-table__caption--m">
                    "Essential cookies"
                </caption>
                <thead class="govuk-table__head">
                    <tr class="govuk-table__row">
                        <th scope="col" class="govuk-table__header">
                            "Name"
                        </th>
                        <th scope="col" class="govuk-table__header">
                            "Purpose"
                        </th>
                        <th scope="col" class="govuk-table__header">
                            "Expires"
                        </th>
                    </tr>
                </thead>
                <tbody class="govuk-table__body">
                    <tr class="govuk-table__row">
                        <td class="govuk-table__cell">"tid_session"</td>
                        <td class="govuk-table__cell">
                            "Remembers your progress through the service and that you’re signed in"
                        </td>
                        <td class="govuk-table__cell">
                            "When you close your browser, or after 2 hours"
                        </td>
                    </tr>
                    <tr class="govuk-table__row">
                        <td class="govuk-table__cell">"tid_csrf"</td>
                        <td class="govuk-table__cell">
                            "Protects the forms you fill in from being sent by other websites"
                        </td>
                        <td class="govuk-table__cell">"When you close your browser"</td>
                    </tr>
                </tbody>
            </table>
            <p class="govuk-body">
                "When you sign in, GOV.UK One Login sets its own cookies. Read about them on the "
                <a class="govuk-link" href="https://signin.account.gov.uk/cookies">
                    "GOV.UK One Login cookies page"
                </a> "."
            </p>
        </InfoPage>
    }
}

#[component]
pub fn PrivacyPage() -> impl IntoView {
    view! {
        <InfoPage title="Privacy notice">
            <p class="govuk-body">
                "The Department for Education (DfE) is the data controller for the personal information we process in Teacher ID."
            </p>
            <h2 class="govuk-heading-m">"What we collect"</h2>
            <ul class="govuk-list govuk-list--bullet">
                <li>
                    "the email address and unique identifier GOV.UK One Login gives us when you sign in"
                </li>
                <li>
                    "your name, previous names and date of birth, if you prove your identity with GOV.UK One Login"
                </li>
                <li>
                    "your National Insurance number and teacher reference number (TRN), if you give them to us"
                </li>
                <li>"a copy of your proof of identity, if you ask our support team to check it"</li>
            </ul>
            <h2 class="govuk-heading-m">"Why we use it"</h2>
            <p class="govuk-body">
                "We use it to find your teaching record and connect it to your GOV.UK One Login, so you can see your qualifications. Our lawful basis is public task: keeping the register of teachers in England."
            </p>
            <h2 class="govuk-heading-m">"How long we keep it"</h2>
            <p class="govuk-body">
                "We keep the connection between your GOV.UK One Login and your teaching record for as long as we hold your record. We delete proof of identity documents 90 days after our support team has dealt with your request."
            </p>
            <h2 class="govuk-heading-m">"Your rights"</h2>
            <p class="govuk-body">
                "You can ask to see the information we hold about you, and ask us to correct or delete it. Email "
                <a class="govuk-link" href="mailto:teacher.id@education.gov.uk">
                    "teacher.id@education.gov.uk"
                </a>
                ". If you’re not happy with how we use your information, you can complain to the "
                <a class="govuk-link" href="https://ico.org.uk/make-a-complaint/">
                    "Information Commissioner’s Office"
                </a> "."
            </p>
        </InfoPage>
    }
}
