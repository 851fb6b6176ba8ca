//! The GOV.UK page template: skip link, header with service navigation, phase banner, main wrapper and footer.

use super::artwork::{
    FOOTER_CROWN, GOVUK_LOGO, OGL_LOGO, ONE_LOGIN_HEADER_LOGO, ONE_LOGIN_LINK_ICON,
    ONE_LOGIN_TOGGLE_ICON,
};
use crate::SERVICE_NAME;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the header needs to know: whether someone is signed in, and where One Login's account pages are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderState {
    pub signed_in: bool,
    /// Signed in with a DfE Identity account, not GOV.UK One Login: One Login's header and its account link would
    /// be wrong for them, so the service's own navigation offers their account page and signing out.
    #[serde(default)]
    pub account_holder: bool,
    pub account_url: String,
}

/// Read on the server from the request's session; the browser gets the same value with the page.
fn header_state() -> HeaderState {
    #[cfg(feature = "ssr")]
    {
        let user = crate::ssr::request_context().and_then(|ctx| ctx.session.user());
        let signed_in = user.is_some();
        let account_holder = user.is_some_and(|u| u.is_account());
        let account_url = use_context::<crate::ssr::OneLoginLinks>()
            .map(|links| links.account_url)
            .unwrap_or_else(|| "https://home.account.gov.uk".into());
        HeaderState {
            signed_in,
            account_holder,
            account_url,
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        HeaderState::default()
    }
}

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let header = SharedValue::new(header_state).into_inner();
    let service_navigation = view! {
        <section
            aria-label="Service information"
            class="govuk-service-navigation"
            data-module="govuk-service-navigation"
        >
            <div class="govuk-width-container">
                <div class="govuk-service-navigation__container">
                    <span class="govuk-service-navigation__service-name">
                        <a href="/" class="govuk-service-navigation__link">
                            {SERVICE_NAME}
                        </a>
                    </span>
                    {header.account_holder.then(account_navigation)}
                </div>
            </div>
        </section>
    };
    let header = if header.signed_in && !header.account_holder {
        view! {
            <header class="govuk-template__header">
                <div class="rebranded-cross-service-header" data-module="one-login-header">
                    <OneLoginHeader account_url=header.account_url />
                    {service_navigation}
                </div>
            </header>
        }
        .into_any()
    } else {
        view! {
            <header class="govuk-template__header">
                <div class="govuk-header">
                    <div class="govuk-header__container govuk-width-container">
                        <div class="govuk-header__logo">
                            <a
                                href="https://www.gov.uk/"
                                class="govuk-header__homepage-link"
                                inner_html=GOVUK_LOGO
                            ></a>
                        </div>
                    </div>
                </div>
                {service_navigation}
            </header>
        }
        .into_any()
    };
    view! {
        <a href="#main-content" class="govuk-skip-link" data-module="govuk-skip-link">
            "Skip to main content"
        </a>
        {header}
        <div class="govuk-width-container">
            <div class="govuk-phase-banner">
                <p class="govuk-phase-banner__content">
                    <strong class="govuk-tag govuk-phase-banner__content__tag">"Beta"</strong>
                    <span class="govuk-phase-banner__text">
                        "This is a new service. Help us improve it and "
                        <a class="govuk-link" href="/feedback">
                            "give your feedback"
                        </a> "."
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
                                <a class="govuk-footer__link" href="/accessibility">
                                    "Accessibility statement"
                                </a>
                            </li>
                            <li class="govuk-footer__inline-list-item">
                                <a class="govuk-footer__link" href="/cookies">
                                    "Cookies"
                                </a>
                            </li>
                            <li class="govuk-footer__inline-list-item">
                                <a class="govuk-footer__link" href="/privacy">
                                    "Privacy"
                                </a>
                            </li>
                        </ul>
                        <span inner_html=OGL_LOGO></span>
                        <span class="govuk-footer__licence-description">
                            "All content is available under the "
                            <a
                                class="govuk-footer__link"
                                href="https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
                                rel="license"
                            >
                                "Open Government Licence v3.0"
                            </a> ", except where otherwise stated"
                        </span>
                    </div>
                    <div class="govuk-footer__meta-item">
                        <a
                            class="govuk-footer__link govuk-footer__copyright-logo"
                            href="https://www.nationalarchives.gov.uk/information-management/re-using-public-sector-information/uk-government-licensing-framework/crown-copyright/"
                        >
                            "© Crown copyright"
                        </a>
                    </div>
                </div>
            </div>
        </footer>
    }
}

/// The GOV.UK One Login service header's top bar (`@govuk-one-login/service-header` 5.0.0), with our sign-out.
#[component]
fn OneLoginHeader(account_url: String) -> impl IntoView {
    view! {
        <div class="rebranded-one-login-header" data-one-login-header-nav>
            <div class="rebranded-one-login-header__container govuk-width-container">
                <div class="rebranded-one-login-header__logo">
                    <a
                        href="https://www.gov.uk/"
                        class="rebranded-one-login-header__link rebranded-one-login-header__link--homepage"
                        inner_html=ONE_LOGIN_HEADER_LOGO
                    ></a>
                </div>
                <button
                    type="button"
                    aria-controls="one-login-header__nav"
                    aria-label="Show GOV.UK One Login menu"
                    data-open-class="rebranded-cross-service-header__toggle--open"
                    data-label-for-show="Show GOV.UK One Login menu"
                    data-label-for-hide="Hide GOV.UK One Login menu"
                    aria-expanded="false"
                    class="rebranded-cross-service-header__toggle js-x-header-toggle"
                >
                    <span class="rebranded-cross-service-header__toggle-content-wrapper">
                        <span inner_html=ONE_LOGIN_TOGGLE_ICON></span>
                        <span class="rebranded-cross-service-header__toggle-content">
                            "One Login"
                        </span>
                    </span>
                </button>
                <nav
                    aria-label="GOV.UK One Login"
                    class="rebranded-one-login-header__nav"
                    data-open-class="rebranded-one-login-header__nav--open"
                    id="one-login-header__nav"
                >
                    <ul class="rebranded-one-login-header__nav__list">
                        <li class="rebranded-one-login-header__nav__list-item">
                            <a class="rebranded-one-login-header__nav__link" href=account_url>
                                <span class="rebranded-one-login-header__nav__text">
                                    <span inner_html=ONE_LOGIN_LINK_ICON></span>
                                    "GOV.UK One Login"
                                </span>
                            </a>
                        </li>
                        <li class="rebranded-one-login-header__nav__list-item">
                            <a
                                class="rebranded-one-login-header__nav__link"
                                href="/sign-out"
                                rel="external"
                            >
                                <span class="rebranded-one-login-header__nav__text rebranded-one-login-header__nav__text--sign-out">
                                    "Sign out"
                                </span>
                            </a>
                        </li>
                    </ul>
                </nav>
            </div>
        </div>
    }
}

/// The service navigation's links for a DfE Identity account holder: their account page and signing out.
fn account_navigation() -> impl IntoView {
    view! {
        <nav aria-label="Menu" class="govuk-service-navigation__wrapper">
            <ul class="govuk-service-navigation__list" id="navigation">
                <li class="govuk-service-navigation__item">
                    <a class="govuk-service-navigation__link" href=crate::routes::ACCOUNT>
                        "Your account"
                    </a>
                </li>
                <li class="govuk-service-navigation__item">
                    <a
                        class="govuk-service-navigation__link"
                        href=crate::routes::SIGN_OUT
                        rel="external"
                    >
                        "Sign out"
                    </a>
                </li>
            </ul>
        </nav>
    }
}
