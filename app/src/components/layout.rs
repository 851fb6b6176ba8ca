//! The GOV.UK page template: skip link, header with service navigation, phase banner, main wrapper and footer.

use super::artwork::{FOOTER_CROWN, GOVUK_LOGO, OGL_LOGO};
use crate::SERVICE_NAME;
use leptos::prelude::*;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link">
            "Skip to main content"
        </a>
        <header class="govuk-template__header">
            <div class="govuk-header">
                <div class="govuk-header__container govuk-width-container">
                    <div class="govuk-header__logo">
                        <a href="https://www.gov.uk/" class="govuk-header__homepage-link" inner_html=GOVUK_LOGO></a>
                    </div>
                </div>
            </div>
            <section aria-label="Service information" class="govuk-service-navigation" data-module="govuk-service-navigation">
                <div class="govuk-width-container">
                    <div class="govuk-service-navigation__container">
                        <span class="govuk-service-navigation__service-name">
                            <a href="/" class="govuk-service-navigation__link">{SERVICE_NAME}</a>
                        </span>
                    </div>
                </div>
            </section>
        </header>
        <div class="govuk-width-container">
            <div class="govuk-phase-banner">
                <p class="govuk-phase-banner__content">
                    <strong class="govuk-tag govuk-phase-banner__content__tag">"Beta"</strong>
                    <span class="govuk-phase-banner__text">
                        "This is a new service. Help us improve it and "
                        <a class="govuk-link" href="/feedback">"give your feedback"</a>
                        "."
                    </span>
                </p>
            </div>
            <main class="govuk-main-wrapper" id="main-content">
                {children()}
            </main>
        </div>
        <footer class="govuk-footer">
            <div class="govuk-width-container">
                <span inner_html=FOOTER_CROWN></span>
                <div class="govuk-footer__meta">
                    <div class="govuk-footer__meta-item govuk-footer__meta-item--grow">
                        <h2 class="govuk-visually-hidden">"Support links"</h2>
                        <ul class="govuk-footer__inline-list">
                            <li class="govuk-footer__inline-list-item">
                                <a class="govuk-footer__link" href="/accessibility">"Accessibility statement"</a>
                            </li>
                            <li class="govuk-footer__inline-list-item">
                                <a class="govuk-footer__link" href="/cookies">"Cookies"</a>
                            </li>
                            <li class="govuk-footer__inline-list-item">
                                <a class="govuk-footer__link" href="/privacy">"Privacy"</a>
                            </li>
                        </ul>
                        <span inner_html=OGL_LOGO></span>
                        <span class="govuk-footer__licence-description">
                            "All content is available under the "
                            <a class="govuk-footer__link" href="https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/" rel="license">
                                "Open Government Licence v3.0"
                            </a>
                            ", except where otherwise stated"
                        </span>
                    </div>
                    <div class="govuk-footer__meta-item">
                        <a class="govuk-footer__link govuk-footer__copyright-logo" href="https://www.nationalarchives.gov.uk/information-management/re-using-public-sector-information/uk-government-licensing-framework/crown-copyright/">
                            "© Crown copyright"
                        </a>
                    </div>
                </div>
            </div>
        </footer>
    }
}
