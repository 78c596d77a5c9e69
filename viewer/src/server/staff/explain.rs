//! `POST /staff/explain`: why a case's plan was as it was on a date, from the case's card on the
//! client's page: the model version, the segment and who decided it, and for each step the
//! generic process, the segment's content and the conditions that held.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use maud::html;
use polku_dsl::Lang;
use polku_engine::explain::{SegmentContent, StepReason};
use polku_engine::time::Timestamp;

use super::super::{auth, AppState, PageQuery};
use super::{
    case_allowed, forbidden_page, frame, now, private, show_client, signed_in_bar, signed_in_post,
    NotAllowed,
};
use crate::maps::{say, Word};

fn content(c: &SegmentContent, lang: Lang) -> String {
    match c {
        SegmentContent::None => say(Word::ContentNone, lang).to_owned(),
        SegmentContent::Added => say(Word::ContentAdded, lang).to_owned(),
        SegmentContent::Changed { attributes } => {
            let words: Vec<&str> = attributes
                .iter()
                .map(|a| polku_engine::diff::words::say_step_keyword(a, lang))
                .collect();
            format!("{} {}", say(Word::ContentChanged, lang), words.join(", "))
        }
        SegmentContent::Removed { reason: Some(reason) } => {
            format!("{} ({reason})", say(Word::ContentRemoved, lang))
        }
        SegmentContent::Removed { reason: None } => say(Word::ContentRemoved, lang).to_owned(),
    }
}

fn condition(step: &StepReason, lang: Lang) -> String {
    match &step.condition {
        None => "–".to_owned(),
        // A condition names a yes-or-no fact; one not recorded is no.
        Some(c) => format!(
            "{} {}: {} = {} → {}",
            say(if c.negated { Word::OnlyIfNot } else { Word::OnlyIf }, lang),
            c.fact,
            c.fact,
            say(if c.value != 0 { Word::Yes } else { Word::No }, lang).to_lowercase(),
            say(if c.holds { Word::Holds } else { Word::DoesNotHold }, lang)
        ),
    }
}

/// `POST /staff/explain`: fields `client` (pseudonym), `purpose`, `case`, optional `date`
/// (YYYY-MM-DD, today by default) and `step`.
pub async fn explain(
    State(state): State<AppState>,
    query: PageQuery,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (choice, fields, session) = match signed_in_post(&state, &query, &headers, &uri, &body) {
        Ok(post) => post,
        Err(refused) => return *refused,
    };
    let lang = choice.lang;
    let get = |k: &str| fields.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (client, purpose, case) = super::assessment::who(&fields);
    if purpose.is_empty() {
        return show_client(&state, &uri, choice, &session, &client, &purpose, None).await;
    }
    let (api, owner) = match case_allowed(&state, &session, &case).await {
        Ok(allowed) => allowed,
        Err(NotAllowed::Forbidden) => return forbidden_page(&state, &uri, choice),
        // The client's page says that the database does not answer (or shows the client, if
        // it answers again).
        Err(NotAllowed::Unavailable) => {
            return show_client(&state, &uri, choice, &session, &client, &purpose, None).await
        }
    };
    let date = get("date");
    let at = match Timestamp::parse(&date) {
        Some(t) => t.end_of_local_day().0,
        None => now(),
    };
    let step = Some(get("step")).filter(|s| !s.is_empty());
    let actor = session.principal.actor(&purpose, "");
    let (tracker, pseudonym) = (api.tracker.clone(), owner.clone());
    let wanted = step.clone();
    let scope = auth::client_scope(&session.principal);
    let read = tokio::task::spawn_blocking(move || {
        let pseudonym = tracker.pseudonym(&pseudonym)?;
        let explanation = tracker.explain(&pseudonym, &actor, at, wanted.as_deref(), &scope)?;
        let versions = tracker.with(|t| t.stored_versions())?;
        Ok::<_, polku_store::tracker::TrackerError>((explanation, versions))
    })
    .await;
    let (explanation, versions) = match read {
        Ok(Ok(found)) => found,
        _ => return forbidden_page(&state, &uri, choice),
    };
    let reason = explanation.as_ref().and_then(|e| e.cases.iter().find(|c| c.case == case));
    let (y, m, d) = Timestamp(at).local_date();
    let day = format!("{y:04}-{m:02}-{d:02}");
    // Every step the case's process has, for the choice of one.
    let version = state.model();
    let all_steps: Vec<(String, String)> = reason
        .and_then(|r| version.model.processes.get(&r.process))
        .map(|p| p.generic.steps.iter().map(|s| (s.name.clone(), s.title.clone())).collect())
        .unwrap_or_default();
    let body = html! {
        (signed_in_bar(&session, lang))
        h1 { (say(Word::WhyThisPlan, lang)) }
        form.explain-choice method="post" action="/staff/explain" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="client" value=(owner);
            input type="hidden" name="purpose" value=(purpose);
            input type="hidden" name="case" value=(case);
            label { (say(Word::OnDate, lang)) " " input type="date" name="date" value=(day); }
            label {
                (say(Word::Step, lang)) " "
                select name="step" {
                    option value="" { (say(Word::AllSteps, lang)) }
                    @for (name, title) in &all_steps {
                        option value=(name) selected[step.as_deref() == Some(name.as_str())] { (title) }
                    }
                }
            }
            button type="submit" { (say(Word::Show, lang)) }
        }
        @match reason {
            None => { p.notice.failed role="status" { (say(Word::NoCaseThen, lang)) } }
            Some(r) => {
                section.explanation {
                    h2 { (r.process_title) }
                    dl.case-facts {
                        dt { (say(Word::ModelVersion, lang)) }
                        dd {
                            @let v = versions.iter().find(|v| v.hash == r.model_version);
                            @if let Some(v) = v { "@" (v.id) " " }
                            code { (&r.model_version[..r.model_version.len().min(12)]) }
                            @if let Some(v) = v.filter(|v| !v.note.is_empty()) { " – " (v.note) }
                        }
                        @if let (Some(segment), Some(d)) = (&r.segment, &r.decided) {
                            dt { (say(Word::Segment, lang)) } dd.segment { (segment) }
                            dt { (say(Word::SegmentDecided, lang)) }
                            dd.decided {
                                (say(match d.how { "assessed" => Word::DecidedAssessed, "changed" => Word::DecidedChanged, _ => Word::DecidedOpened }, lang))
                                " " (d.at.get(..10).unwrap_or(&d.at))
                                @if let Some(by) = &d.by { ", " (say(Word::DecidedBy, lang)) " " (by) }
                                @if let Some(reason) = &d.reason { " (" (reason) ")" }
                            }
                        }
                    }
                    table.explain-steps {
                        caption { (say(Word::Steps, lang)) " " (day) }
                        thead { tr {
                            th scope="col" { (say(Word::Step, lang)) }
                            th scope="col" { (say(Word::PlannedStep, lang)) }
                            th scope="col" { (say(Word::InGeneric, lang)) }
                            th scope="col" { (say(Word::SegmentContent, lang)) }
                            th scope="col" { (say(Word::FactCondition, lang)) }
                            th scope="col" { (say(Word::DoneByThen, lang)) }
                        } }
                        tbody {
                            @for s in &r.steps {
                                tr.planned[s.planned] {
                                    th scope="row" { (if s.title.is_empty() { &s.step } else { &s.title }) }
                                    td { (say(if s.planned { Word::Yes } else { Word::No }, lang)) @if s.planned && !s.required { " (" (say(Word::Optional, lang)) ")" } }
                                    td { (say(if s.generic { Word::Yes } else { Word::No }, lang)) }
                                    td { (content(&s.segment_content, lang)) }
                                    td { (condition(s, lang)) }
                                    td { (s.done) }
                                }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/staff/client" {
            input type="hidden" name="csrf" value=(session.csrf);
            input type="hidden" name="client" value=(owner);
            input type="hidden" name="purpose" value=(purpose);
            button type="submit" { (say(Word::BackToClient, lang)) }
        }
    };
    private(super::super::pages::page(frame(&state, &uri, lang, choice), body))
}

#[cfg(test)]
mod tests {
    use polku_engine::explain::ConditionHeld;

    use super::*;

    fn step(condition: ConditionHeld, attributes: &[&str]) -> StepReason {
        StepReason {
            step: "perhevalmennus".into(),
            title: "Perhevalmennus".into(),
            phase: "suunnitelma".into(),
            planned: condition.holds,
            required: true,
            generic: true,
            segment_content: SegmentContent::Changed {
                attributes: attributes.iter().map(|a| (*a).to_owned()).collect(),
            },
            condition: Some(condition),
            done: 0,
        }
    }

    #[test]
    fn a_condition_and_a_segments_changes_read_in_the_pages_language() {
        let s = step(
            ConditionHeld { fact: "tulkki".into(), negated: true, value: 1, holds: false },
            &["kanava", "ohje"],
        );
        assert_eq!(condition(&s, Lang::En), "only if not tulkki: tulkki = yes → does not hold");
        assert_eq!(condition(&s, Lang::Fi), "vain jos ei tulkki: tulkki = kyllä → ei päde");
        assert!(content(&s.segment_content, Lang::En).ends_with("channel, guidance"));
        assert!(content(&s.segment_content, Lang::Fi).ends_with("kanava, ohje"));
    }
}
