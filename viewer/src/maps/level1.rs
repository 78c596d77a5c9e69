//! Level 1: the service catalogue and the service chains.
//!
//! Each chain is a cluster holding its services, its path (`polku`) drawn as bold arrows and
//! its referral relations (`ohjaus`) as dashed arrows labelled with the segments they are for.
//! Referrals that the processes make (`ohjaus` on a step) but that no chain declares are drawn
//! dotted, so that a missing agreement shows. Services in no chain stand in the catalogue's own
//! cluster. A service in several chains is drawn in the first; the text alternative lists all.

use std::collections::{BTreeMap, BTreeSet};

use polku_dsl::Lang;
use polku_engine::Model;

use super::dot::{self, attr, cluster, edge, html, node, text_attr};
use super::{paths, process_title, say, service_title, wrap, xml_escape, Word};

/// A referral between two services that some process carries out with an `ohjaus` step.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StepReferral {
    pub from_service: String,
    pub to_service: String,
    /// `process.step` of each step that makes the referral.
    pub steps: Vec<String>,
}

/// The referrals the processes make, from the service of the referring process to the service
/// of the process referred to, over the generic steps and every segment's added ones.
pub fn step_referrals(model: &Model) -> Vec<StepReferral> {
    let mut found: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for process in model.processes.values() {
        let Some(from) = &process.service else { continue };
        let plans = std::iter::once(&process.generic).chain(process.plans.values());
        for step in plans.flat_map(|p| &p.steps) {
            let Some(target) = &step.referral else { continue };
            // To another unit's process (its service), or straight to a service.
            let to = match model.processes.get(target) {
                Some(p) => p.service.as_ref(),
                None => model.services.get_key_value(target).map(|(name, _)| name),
            };
            let Some(to) = to else { continue };
            found
                .entry((from.clone(), to.clone()))
                .or_default()
                .insert(format!("{}.{}", process.name, step.name));
        }
    }
    found
        .into_iter()
        .map(|((from_service, to_service), steps)| StepReferral {
            from_service,
            to_service,
            steps: steps.into_iter().collect(),
        })
        .collect()
}

fn service_node(model: &Model, name: &str) -> dot::Stmt {
    let service = model.services.get(name);
    let mut label = format!("<B>{}</B>", dot::lines(&wrap(service_title(model, name), 26)));
    if let Some(code) = service.and_then(|s| s.code.as_ref()) {
        label.push_str(&format!(
            "<BR/><FONT POINT-SIZE=\"10\" COLOR=\"#555555\">{}</FONT>",
            xml_escape(code)
        ));
    }
    let processes: Vec<&str> = model
        .processes
        .values()
        .filter(|p| p.service.as_deref() == Some(name))
        .map(|p| process_title(model, &p.name))
        .collect();
    let provider = service.and_then(|s| s.provider.as_ref());
    if let Some(provider) = provider {
        // Provided by another organisation: its provider is named under the title.
        label.push_str(&format!(
            "<BR/><FONT POINT-SIZE=\"10\" COLOR=\"#555555\"><I>{}</I></FONT>",
            dot::lines(&wrap(provider, 30))
        ));
    }
    let tooltip = if processes.is_empty() {
        service_title(model, name).to_owned()
    } else {
        format!("{}: {}", service_title(model, name), processes.join("; "))
    };
    let mut attributes = vec![
        attr("label", html(&label)),
        text_attr("id", &format!("service-{name}")),
        text_attr("class", if provider.is_some() { "service external" } else { "service" }),
        text_attr("href", &paths::service(name)),
        text_attr("tooltip", &tooltip),
        text_attr("fillcolor", if processes.is_empty() { "#f4f4f4" } else { "#eaf2fb" }),
    ];
    if provider.is_some() {
        attributes.push(text_attr("style", "rounded,filled,dashed"));
    }
    node(&format!("service:{name}"), attributes)
}

/// The DOT of level 1.
pub fn dot(model: &Model, lang: Lang) -> String {
    let mut stmts = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut declared: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (name, chain) in &model.chains {
        let mut inner = vec![
            attr("label", html(&format!("<B>{}</B>", dot::lines(&wrap(&chain.title, 60))))),
            text_attr("id", &format!("chain-{name}")),
            text_attr("class", "chain"),
            text_attr("href", &paths::chain(name)),
            text_attr("tooltip", &chain.title),
            text_attr("style", "rounded,filled"),
            text_attr("fillcolor", "#fbfbf6"),
            text_attr("color", "#8a8a6a"),
            text_attr("fontsize", "15"),
            text_attr("margin", "14"),
        ]
        .into_iter()
        .map(dot::Stmt::Attribute)
        .collect::<Vec<_>>();
        // A chain joins the services of its path, those it names, and those it refers to.
        let members = chain
            .paths
            .iter()
            .flatten()
            .chain(&chain.services)
            .chain(chain.referrals.iter().flat_map(|r| [&r.from, &r.to]));
        for service in members {
            if placed.insert(service.as_str()) {
                inner.push(service_node(model, service));
            }
        }
        stmts.push(cluster(&format!("chain_{name}"), inner));
        for path in &chain.paths {
            for pair in path.windows(2) {
                stmts.push(edge(
                    &format!("service:{}", pair[0]),
                    &format!("service:{}", pair[1]),
                    vec![
                        text_attr("penwidth", "2.2"),
                        text_attr("color", "#2b5d8a"),
                        text_attr("class", "path"),
                        text_attr("weight", "8"),
                    ],
                ));
            }
        }
        for referral in &chain.referrals {
            declared.insert((referral.from.as_str(), referral.to.as_str()));
            let segments = if referral.segments.is_empty() {
                say(Word::AllSegments, lang).to_owned()
            } else {
                referral.segments.join(", ")
            };
            let tooltip = match &referral.description {
                Some(d) => format!("{}: {d}", say(Word::Referral, lang)),
                None => say(Word::Referral, lang).to_owned(),
            };
            stmts.push(edge(
                &format!("service:{}", referral.from),
                &format!("service:{}", referral.to),
                vec![
                    text_attr("style", "dashed"),
                    text_attr("class", "referral"),
                    text_attr("label", &wrap(&segments, 18).join("\n")),
                    text_attr("tooltip", &tooltip),
                    text_attr("fontcolor", "#6b4a00"),
                    text_attr("color", "#b07d1a"),
                    text_attr("weight", "0"),
                ],
            ));
        }
    }
    let outside: Vec<&String> =
        model.services.keys().filter(|s| !placed.contains(s.as_str())).collect();
    if !outside.is_empty() {
        let mut inner = vec![
            dot::Stmt::Attribute(attr(
                "label",
                html(&format!("<B>{}</B>", xml_escape(say(Word::NotInChain, lang)))),
            )),
            dot::Stmt::Attribute(text_attr("style", "rounded,dashed")),
            dot::Stmt::Attribute(text_attr("color", "#999999")),
            dot::Stmt::Attribute(text_attr("id", "catalogue")),
        ];
        inner.extend(outside.iter().map(|s| service_node(model, s)));
        stmts.push(cluster("catalogue", inner));
    }
    for referral in step_referrals(model) {
        if declared.contains(&(referral.from_service.as_str(), referral.to_service.as_str()))
            || referral.from_service == referral.to_service
        {
            continue;
        }
        stmts.push(edge(
            &format!("service:{}", referral.from_service),
            &format!("service:{}", referral.to_service),
            vec![
                text_attr("style", "dotted"),
                text_attr("class", "step-referral"),
                text_attr(
                    "tooltip",
                    &format!(
                        "{}: {}",
                        say(Word::ReferralFromStep, lang),
                        referral.steps.join(", ")
                    ),
                ),
                text_attr("color", "#777777"),
                text_attr("constraint", "false"),
            ],
        ));
    }
    dot::print(&dot::digraph("level1", "LR", stmts))
}
