//! The community scorecard: `GET /scorecard` (English) and `GET /scorecard?lang=es`
//! (Spanish), public, no sign-in: each indicator an administrator turned on, with its
//! latest shown value, n, trend verdict, baseline, target and curve, and how many of
//! them trend the right way. Only suppressed aggregates ever reach it
//! ([`crate::curves`], the dashboard's code): never a record, a name, an answer, a
//! user or a breakdown. The page is served from [`crate::scorecard::ScorecardCache`],
//! with headers of its own ([`public_routes`]): cacheable, and framable by partners'
//! sites.
//!
//! `GET/POST /scorecard/settings` (backbone staff) choose its indicators.

use axum::extract::{RawQuery, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use indicators::trend::{Status, Trend};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use tower_http::set_header::SetResponseHeaderLayer;

use super::accounts::OwnedAct;
use super::chart::{self, ChartWords};
use super::layout::{csrf_field, when};
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::curves::{self, IndicatorCurve};
use crate::scorecard::{Lang, ScorecardData, TTL};

/// The public page's content policy: the staff pages' ([`super::CONTENT_POLICY`]) but
/// framable anywhere, as partners embed the scorecard in their own sites.
const PUBLIC_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors *; base-uri 'none'";

/// Mobile first (one column at 360 px), printable without the links.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;line-height:1.4}\
header{background:#1d3557;color:#fff;padding:.6rem 1rem}header a{color:#fff}\
main{padding:.8rem;max-width:48rem}h1{font-size:1.5rem;margin:.4rem 0}h2{font-size:1.15rem;margin:0 0 .4rem}\
section{border-top:2px solid #1d3557;padding:.8rem 0 .4rem;margin-top:1rem}\
.latest{font-size:1.3rem;font-weight:600;margin:.2rem 0}.facts{margin:.2rem 0;padding:0;list-style:none}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .4rem;text-align:left}\
td.num{text-align:right;white-space:nowrap}.hidden{color:#666;font-style:italic}\
.trend.right{color:#2b6a30;font-weight:600}.trend.wrong{color:#a4161a;font-weight:600}\
svg{max-width:100%;height:auto}.note{color:#444;font-size:.9rem}\
@media (min-width:40rem){main{padding:1rem 1.5rem}}\
@media print{header a,.no-print{display:none}main{max-width:none;padding:0}section{break-inside:avoid}\
a{color:inherit;text-decoration:none}}";

/// The words of one language's page.
struct Words {
    lang: &'static str,
    brand: &'static str,
    title: &'static str,
    intro: &'static str,
    chart: ChartWords,
    by_year: &'static str,
    latest: &'static str,
    year: &'static str,
    value: &'static str,
    n: &'static str,
    baseline: &'static str,
    target: &'static str,
    trend: &'static str,
    right: &'static str,
    flat: &'static str,
    wrong: &'static str,
    no_data: &'static str,
    suppressed: &'static str,
    none_on: &'static str,
    summary: fn(i32, u32, u32, i32, u32, u32) -> String,
    threshold: fn(u64) -> String,
    updated: fn(&str) -> String,
    print: &'static str,
    other_lang: (&'static str, &'static str, &'static str),
}

const ENGLISH: Words = Words {
    lang: "en",
    brand: "Cradle to career",
    title: "Community scorecard",
    intro: "How our community's children and youth are doing, from cradle to career: each \
            result's curve over the years, its baseline and target, and whether it is \
            moving the right way.",
    chart: chart::ENGLISH,
    by_year: "by year",
    latest: "Latest",
    year: "Year",
    value: "Value",
    n: "n",
    baseline: "Baseline",
    target: "Target",
    trend: "Trend",
    right: "right direction",
    flat: "flat",
    wrong: "wrong direction",
    no_data: "no data",
    suppressed: "not shown (too few people)",
    none_on: "No indicator is on the scorecard yet.",
    summary: |year, right, with, before, right_before, with_before| {
        format!(
            "Trending the right way in {year}: {right} of {with} indicators with a verdict; \
             in {before}: {right_before} of {with_before}."
        )
    },
    threshold: |min| {
        format!(
            "Values counting fewer than {min} people are not shown, nor any value that would \
             let one be worked out, so that nobody can be recognised."
        )
    },
    updated: |at| format!("Updated {at}; the page is refreshed at most every five minutes."),
    print: "To print this page, use your browser's Print command.",
    other_lang: ("/scorecard?lang=es", "es", "Español"),
};

const SPANISH: Words = Words {
    lang: "es",
    brand: "De la cuna a la carrera",
    title: "Tablero comunitario de resultados",
    intro: "Cómo les va a los niños y jóvenes de nuestra comunidad, desde la cuna hasta la \
            carrera: la curva de cada resultado a lo largo de los años, su línea de base y su \
            meta, y si avanza en la dirección correcta.",
    chart: chart::SPANISH,
    by_year: "por año",
    latest: "Último valor",
    year: "Año",
    value: "Valor",
    n: "n",
    baseline: "Línea de base",
    target: "Meta",
    trend: "Tendencia",
    right: "en la dirección correcta",
    flat: "estable",
    wrong: "en la dirección equivocada",
    no_data: "sin datos",
    suppressed: "no se muestra (muy pocas personas)",
    none_on: "Aún no hay indicadores en este tablero.",
    summary: |year, right, with, before, right_before, with_before| {
        format!(
            "En la dirección correcta en {year}: {right} de {with} indicadores con \
             tendencia; en {before}: {right_before} de {with_before}."
        )
    },
    threshold: |min| {
        format!(
            "No se muestran los valores que cuentan a menos de {min} personas, ni ningún \
             valor que permitiría calcularlos, para que nadie pueda ser identificado."
        )
    },
    updated: |at| {
        format!("Actualizado el {at}; la página se renueva como máximo cada cinco minutos.")
    },
    print: "Para imprimir esta página, use el comando Imprimir de su navegador.",
    other_lang: ("/scorecard", "en", "English"),
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &ENGLISH,
        Lang::Es => &SPANISH,
    }
}

fn trend_words(w: &Words, trend: Option<Trend>) -> (&'static str, &'static str) {
    let words = match trend {
        Some(Trend::RightDirection) => w.right,
        Some(Trend::WrongDirection) => w.wrong,
        Some(Trend::Flat) => w.flat,
        Some(Trend::NoData) | None => w.no_data,
    };
    (curves::trend_class(trend), words)
}

/// One indicator: its latest shown value (with n, year and that year's verdict),
/// baseline, target, curve and a table of its years. No breakdowns, ever.
fn indicator(c: &IndicatorCurve, w: &Words, lang: Lang) -> Markup {
    let scale = c.curve.scale();
    let title = match lang {
        Lang::En => c.info.title,
        Lang::Es => c.info.title_es,
    };
    let latest = c.latest_shown();
    let latest_n = latest
        .and_then(|(y, _)| c.curve.at(y))
        .and_then(|p| p.counts)
        .map(|e| e.denominator);
    let (trend_class, trend_text) = trend_words(
        w,
        latest.and_then(|(y, _)| c.verdict_in(y)).map(|v| v.trend),
    );
    let target = c.target_in(latest.map(|(y, _)| y));
    html! {
        section.indicator data-indicator=(c.info.id) {
            h2 { (title) " (" (c.info.id) ")" }
            @match latest {
                Some((year, value)) => p.latest data-indicator=(c.info.id) data-year=(year)
                    data-value=(format!("{value:.1}")) data-n=[latest_n] {
                    (w.latest) ": " (scale.format(value)) " (" (year) ")"
                    @if let Some(n) = latest_n { ", " (w.n) " = " (n) }
                },
                None => p.latest.hidden data-indicator=(c.info.id) { (w.no_data) },
            }
            ul.facts {
                li { (w.trend) ": " span class=(trend_class) { (trend_text) } }
                li { (w.baseline) ": "
                    (c.targets.baseline.map_or("—".into(), |b| format!("{} ({})", scale.format(b.value), b.year))) }
                li { (w.target) ": "
                    (target.map_or("—".into(), |(y, v)| format!("{} ({y})", scale.format(v)))) }
            }
            (chart::curve_chart(&format!("{} {}", c.info.id, w.by_year), c, &w.chart))
            @if !c.curve.points().is_empty() {
                table {
                    thead { tr { th { (w.year) } th { (w.value) } th { (w.n) } th { (w.trend) } } }
                    tbody {
                        @for p in c.curve.points() {
                            @let (class, words) = trend_words(w, c.verdict_in(p.year).map(|v| v.trend));
                            tr data-year=(p.year) {
                                td { (p.year) }
                                @match (p.status, p.value) {
                                    (Status::Shown, Some(v)) => {
                                        td.num data-indicator=(c.info.id) data-year=(p.year)
                                            data-value=(format!("{v:.1}")) { (scale.format(v)) }
                                        @match p.counts {
                                            Some(e) => td.num data-n=(e.denominator) { (e.denominator) },
                                            None => td { "—" },
                                        }
                                    }
                                    (Status::Suppressed(_), _) => {
                                        td.hidden colspan="2" { (w.suppressed) }
                                    }
                                    _ => { td.hidden colspan="2" { (w.no_data) } }
                                }
                                td class=(class) { (words) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A scorecard page, as a whole HTML document: self-contained (inline style, no
/// script, no other resource), in `lang`.
pub fn render(data: &ScorecardData, lang: Lang) -> String {
    let w = words(lang);
    let summary = curves::summary(&data.curves);
    let (switch_href, switch_lang, switch_words) = w.other_lang;
    let page = html! {
        (DOCTYPE)
        html lang=(w.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (w.title) " · " (w.brand) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { (w.brand) } " · "
                    a.no-print href=(switch_href) hreflang=(switch_lang) lang=(switch_lang) { (switch_words) }
                }
                main {
                    h1 { (w.title) }
                    p { (w.intro) }
                    @if let Some(s) = summary {
                        p id="trend-summary" data-year=(s.this_year.year) data-right=(s.this_year.right)
                            data-with-verdict=(s.this_year.with_data()) {
                            strong { ((w.summary)(s.this_year.year, s.this_year.right, s.this_year.with_data(),
                                s.year_before.year, s.year_before.right, s.year_before.with_data())) }
                        }
                    }
                    @if data.curves.is_empty() {
                        p id="none-on" { (w.none_on) }
                    }
                    @for c in &data.curves {
                        (indicator(c, w, lang))
                    }
                    p.note id="threshold" data-min-cell=(data.min_cell) { ((w.threshold)(data.min_cell)) }
                    p.note { ((w.updated)(&when(data.read_at))) }
                    p.note.no-print { (w.print) }
                }
            }
        }
    };
    page.into_string()
}

/// The page's language from its query string: `lang=es` is Spanish, anything else
/// (or nothing, or a query that does not parse) English.
fn lang_of(query: Option<&str>) -> Lang {
    let spanish = query.unwrap_or("").split('&').any(|pair| pair == "lang=es");
    if spanish {
        Lang::Es
    } else {
        Lang::En
    }
}

/// `GET /scorecard`: the cached page, or 503 when none could be built.
pub async fn scorecard(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let lang = lang_of(query.as_deref());
    match state.scorecard.page(lang).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], bytes).into_response(),
        Err(unavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (
                    header::RETRY_AFTER,
                    unavailable.retry_after_secs.to_string(),
                ),
                // Never keep the refusal: the next try may succeed.
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
            "The scorecard is not available just now; try again in a moment.",
        )
            .into_response(),
    }
}

/// The public routes, with their own headers instead of the staff pages': a page
/// anyone may keep for [`TTL`] and any site may frame, with no sniffing and no
/// referrer. Merged into the application's router beside [`super::routes`].
pub fn public_routes() -> Router<AppState> {
    let set = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    Router::new()
        .route("/scorecard", get(scorecard))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&format!("public, max-age={}", TTL.as_secs()))
                .unwrap_or(HeaderValue::from_static("no-store")),
        ))
        .layer(set(header::CONTENT_SECURITY_POLICY, PUBLIC_POLICY))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::REFERRER_POLICY, "no-referrer"))
}

/// `GET /scorecard/settings`: a checkbox per indicator.
pub async fn settings_page(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    let storage = state.storage.clone();
    let public = match storage_call(move || storage.public_indicators()).await {
        Ok(public) => public,
        Err(page) => return page,
    };
    let body = html! {
        h1 { "Community scorecard" }
        p {
            "The public scorecard shows, to anyone and without signing in, the indicators \
             ticked here: each one's latest value, n, trend, baseline, target and curve, in \
             English and Spanish, suppressed like the dashboard (no breakdowns, no records). \
             It is refreshed at most every five minutes, and at once when you save here. \
             Partners may embed it in their own sites."
        }
        p {
            "Open it: " a id="public-link" href="/scorecard" { "/scorecard" } " (English), "
            a href="/scorecard?lang=es" { "/scorecard?lang=es" } " (Spanish)."
        }
        form method="post" action="/scorecard/settings" {
            (csrf_field(&staff.csrf))
            fieldset {
                legend { "Indicators on the scorecard" }
                @for info in curves::all_indicators() {
                    label {
                        input type="checkbox" name="indicator" value=(info.id)
                            checked[public.iter().any(|p| p == info.id)];
                        " " strong { (info.id) } " " (info.title)
                    }
                }
            }
            button type="submit" { "Save" }
        }
    };
    staff.page("Community scorecard", body)
}

/// `POST /scorecard/settings`: exactly the ticked indicators go on the scorecard,
/// audited; the cached pages are dropped.
pub async fn save_settings(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    if let Err(page) = staff
        .require(BACKBONE_ROLES)
        .and_then(|()| staff.check_csrf(csrf))
    {
        return page;
    }
    let ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "indicator")
        .map(|(_, v)| v.clone())
        .collect();
    let detail = if ids.is_empty() {
        "none".to_string()
    } else {
        ids.join(", ")
    };
    let act = OwnedAct::new(&staff, "scorecard.set", "scorecard", detail);
    let storage = state.storage.clone();
    match storage_call(move || storage.set_public_indicators(&ids, &act.act())).await {
        Ok(()) => {
            state.scorecard.invalidate();
            Redirect::to("/scorecard/settings").into_response()
        }
        Err(page) => page,
    }
}
