//! Level 3: a client process. Each phase is a cluster holding its steps in the shape of its
//! `kulku` (choices, parallel parts, loops); the phases follow the process's own `kulku`.
//!
//! With a segment chosen, the segment's plan is drawn against the generic process: steps it
//! adds are green and carry the class `added`, steps it changes are yellow with the changed
//! attributes named (`changed`), steps it leaves out are struck through (`removed`), optional
//! ones dashed. Statutory steps have a double border and their legal reference. A phase with a
//! level-4 workflow links to it.

use polku_dsl::Lang;
use polku_engine::diagram::{Diagram, DiagramNode};
use polku_engine::model::Process;
use polku_engine::plan::{describe_deadline, describe_duration, Origin, Plan, PlannedStep};
use polku_engine::Model;

use super::dot::{self, attr, cluster, edge, html, node, text_attr, Stmt};
use super::{paths, process_title, role_title, say, service_title, wrap, xml_escape, Word};

/// The node id of an element or gateway of a block; `scope` is the phase, or `""` for the
/// phase flow.
fn node_id(scope: &str, diagram: &Diagram, index: usize) -> String {
    match &diagram.nodes[index] {
        DiagramNode::Element(name) if scope.is_empty() => format!("phase:{name}"),
        DiagramNode::Element(name) => format!("step:{name}"),
        _ => format!("g:{scope}:{index}"),
    }
}

/// The details under a step's title: who, how long, how often, by when, how, on what basis.
pub fn step_details(model: &Model, step: &PlannedStep, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    let mut first = Vec::new();
    if !step.roles.is_empty() {
        first.push(step.roles.iter().map(|r| role_title(model, r)).collect::<Vec<_>>().join(", "));
    }
    if let Some(d) = &step.duration {
        first.push(describe_duration(d));
    }
    if let Some(c) = step.channel {
        first.push(c.keyword().to_owned());
    }
    if !first.is_empty() {
        out.push(first.join(" · "));
    }
    if step.count > 1 || step.interval.is_some() {
        let mut repeat = format!("{} {}", step.count, say(Word::Times, lang));
        if let Some(i) = &step.interval {
            repeat.push_str(&format!(", {} {}", describe_duration(i), say(Word::Every, lang)));
        }
        out.push(repeat);
    }
    if step.assesses_segment {
        out.push(format!("◆ {}", say(Word::AssessedHere, lang)));
    }
    let fact_title = |name: &str| {
        model
            .facts
            .get(name)
            .map(|f| f.title.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| name.to_owned())
    };
    if let Some(c) = &step.condition {
        let not = if c.negated {
            format!("{} ", say(Word::No, lang).to_lowercase())
        } else {
            String::new()
        };
        out.push(format!("{}: {not}{}", say(Word::OnlyIf, lang), fact_title(&c.fact)));
    }
    if let Some(per) = &step.per {
        out.push(format!("{} {}", say(Word::OncePer, lang), fact_title(per)));
    }
    if let Some(d) = &step.earliest {
        out.push(format!("{}: {}", say(Word::NotBefore, lang), describe_deadline(d)));
    }
    if let Some(d) = &step.deadline {
        out.push(format!("{}: {}", say(Word::Deadline, lang), describe_deadline(d)));
    }
    if let Some(target) = &step.referral {
        let title = if model.processes.contains_key(target) {
            process_title(model, target)
        } else {
            service_title(model, target)
        };
        out.push(format!("→ {} {title}", say(Word::ReferralTo, lang)));
    }
    if let Some(basis) = &step.statutory {
        if basis.is_empty() {
            out.push(format!("§ {}", say(Word::Statutory, lang)));
        } else {
            out.push(format!("§ {basis}"));
        }
    }
    if !step.required {
        out.push(format!("({})", say(Word::Optional, lang)));
    }
    if let Origin::Changed(what) = &step.origin {
        out.push(format!("✎ {}", what.join(", ")));
    }
    out
}

/// The state of each step of one case, for the staff page's map.
pub type States = std::collections::BTreeMap<String, polku_engine::case::StepState>;

fn state_look(state: polku_engine::case::StepState) -> (&'static str, &'static str) {
    use polku_engine::case::StepState;
    match state {
        StepState::Done => ("state-done", "#cdebc5"),
        StepState::InProgress => ("state-in-progress", "#d7e7fb"),
        StepState::Pending => ("state-pending", "#ffffff"),
        StepState::Overdue => ("state-overdue", "#f6c9c4"),
        StepState::NotNeeded => ("state-not-needed", "#e4e4e4"),
    }
}

fn step_node(
    model: &Model,
    step: &PlannedStep,
    segment: bool,
    states: Option<&States>,
    lang: Lang,
) -> Stmt {
    let title = if step.title.is_empty() { &step.name } else { &step.title };
    let details: Vec<String> =
        step_details(model, step, lang).iter().flat_map(|d| wrap(d, 34)).collect();
    let mut label = format!("<B>{}</B>", dot::lines(&wrap(title, 26)));
    let state = states.and_then(|s| s.get(&step.name)).copied();
    if let Some(state) = state {
        label.push_str(&format!(
            "<BR/><FONT POINT-SIZE=\"11\"><B>{}</B></FONT>",
            xml_escape(&state.word(lang).to_uppercase())
        ));
    }
    if !details.is_empty() {
        label.push_str(&format!(
            "<BR/><FONT POINT-SIZE=\"10\" COLOR=\"#333333\">{}</FONT>",
            dot::lines(&details)
        ));
    }
    let mut classes = vec!["step"];
    let mut fill = "white";
    let mut styles = vec!["rounded", "filled"];
    match (&step.origin, segment) {
        (Origin::Added, true) => {
            classes.push("added");
            fill = "#d6f0d2";
        }
        (Origin::Changed(_), true) => {
            classes.push("changed");
            fill = "#fff0b8";
        }
        _ => {}
    }
    if !step.required {
        classes.push("optional");
        styles.push("dashed");
    }
    if let Some(state) = state {
        let (class, colour) = state_look(state);
        classes.push(class);
        fill = colour;
    }
    let mut attributes = vec![
        attr("label", html(&label)),
        text_attr("id", &format!("step-{}", step.name)),
        text_attr("class", &classes.join(" ")),
        text_attr("fillcolor", fill),
        text_attr("style", &styles.join(",")),
        text_attr("tooltip", title),
    ];
    if step.statutory.is_some() {
        classes.push("statutory");
        attributes.push(text_attr("peripheries", "2"));
        attributes.push(text_attr("class", &classes.join(" ")));
    }
    if let Some(target) = &step.referral {
        let href = if model.processes.contains_key(target) {
            paths::process(target, None)
        } else {
            paths::service(target)
        };
        attributes.push(text_attr("href", &href));
    }
    node(&format!("step:{}", step.name), attributes)
}

fn removed_node(name: &str, title: &str, reason: Option<&str>, lang: Lang) -> Stmt {
    let mut label = format!("<S>{}</S>", dot::lines(&wrap(title, 26)));
    label.push_str(&format!(
        "<BR/><FONT POINT-SIZE=\"10\" COLOR=\"#555555\">{}</FONT>",
        dot::lines(&wrap(
            &match reason {
                Some(r) => format!("{}: {r}", say(Word::Removed, lang)),
                None => say(Word::Removed, lang).to_owned(),
            },
            34
        ))
    ));
    node(
        &format!("step:{name}"),
        vec![
            attr("label", html(&label)),
            text_attr("id", &format!("step-{name}")),
            text_attr("class", "step removed"),
            text_attr("style", "rounded,dashed,filled"),
            text_attr("fillcolor", "#f1f1f1"),
            text_attr("fontcolor", "#666666"),
            text_attr("color", "#999999"),
        ],
    )
}

fn gateway(id: &str, kind: &DiagramNode, lang: Lang) -> Option<Stmt> {
    let (shape, label, width, class, tooltip) = match kind {
        DiagramNode::Element(_) => return None,
        DiagramNode::Start => ("circle", "", "0.22", "start", say(Word::Start, lang)),
        DiagramNode::End => ("doublecircle", "", "0.18", "end", say(Word::End, lang)),
        DiagramNode::Split | DiagramNode::Join => ("diamond", "+", "0.3", "gateway parallel", ""),
        DiagramNode::Choice | DiagramNode::Merge => ("diamond", "×", "0.3", "gateway choice", ""),
    };
    Some(node(
        id,
        vec![
            text_attr("shape", shape),
            text_attr("label", label),
            text_attr("width", width),
            text_attr("height", width),
            text_attr("fixedsize", "true"),
            text_attr("style", "filled"),
            text_attr("fillcolor", if class == "start" { "#cfe3cf" } else { "#f4f4f4" }),
            text_attr("class", class),
            text_attr("tooltip", tooltip),
            text_attr("fontsize", "12"),
        ],
    ))
}

fn point(id: &str) -> Stmt {
    node(
        id,
        vec![
            text_attr("shape", "point"),
            text_attr("width", "0.08"),
            text_attr("color", "#888888"),
            text_attr("class", "phase-anchor"),
        ],
    )
}

fn flow_edge(from: &str, to: &str, label: Option<&str>, back: bool, lang: Lang) -> Stmt {
    let mut attributes = Vec::new();
    if let Some(label) = label {
        let text =
            if back { format!("{} {}", say(Word::Until, lang), label) } else { label.into() };
        attributes.push(text_attr("label", &wrap(&text, 22).join("\n")));
    } else if back {
        attributes.push(text_attr("label", say(Word::Repeat, lang)));
    }
    if back {
        attributes.push(text_attr("style", "dashed"));
        attributes.push(text_attr("class", "loop"));
        attributes.push(text_attr("constraint", "false"));
    }
    edge(from, to, attributes)
}

/// The steps of one phase as the plan has them, and the phase's cluster.
#[allow(clippy::too_many_arguments)]
fn phase_cluster(
    model: &Model,
    process: &Process,
    phase_index: usize,
    plan: &Plan,
    segment: bool,
    states: Option<&States>,
    lang: Lang,
    edges: &mut Vec<Stmt>,
) -> Stmt {
    let phase = &process.phases[phase_index];
    let scope = phase.name.as_str();
    let diagram = &phase.diagram;
    let target = format!("{}.{}", process.name, phase.name);
    let mut title = format!("<B>{}</B>", dot::lines(&wrap(&phase.title, 40)));
    if phase.client {
        title.push_str(&format!(
            "<BR/><FONT POINT-SIZE=\"10\">({})</FONT>",
            xml_escape(say(Word::ClientPhase, lang))
        ));
    }
    if let Some(m) = &phase.milestone {
        title.push_str(&format!(
            "<BR/><FONT POINT-SIZE=\"10\" COLOR=\"#333333\">✔ {}: {}</FONT>",
            xml_escape(say(Word::Done, lang)),
            dot::lines(&wrap(m, 44))
        ));
    }
    let mut stmts: Vec<Stmt> = vec![
        Stmt::Attribute(attr("label", html(&title))),
        Stmt::Attribute(text_attr("id", &format!("phase-{}", phase.name))),
        Stmt::Attribute(text_attr("class", "phase")),
        Stmt::Attribute(text_attr("style", "rounded,filled")),
        Stmt::Attribute(text_attr("fillcolor", if phase.client { "#f3f7fc" } else { "#fafafa" })),
        Stmt::Attribute(text_attr("color", "#9a9a9a")),
        Stmt::Attribute(text_attr("margin", "12")),
    ];
    if model.workflows.contains_key(&target) {
        stmts.push(Stmt::Attribute(text_attr("href", &paths::workflow(&target))));
        stmts.push(Stmt::Attribute(text_attr(
            "tooltip",
            &format!("{}: {}", say(Word::Workflow, lang), model.workflows[&target].title),
        )));
    }
    let mut end_predecessors: Vec<String> = Vec::new();
    let mut end_id = String::new();
    for (index, kind) in diagram.nodes.iter().enumerate() {
        let id = node_id(scope, diagram, index);
        match kind {
            DiagramNode::Element(name) => {
                match plan.steps.iter().find(|s| s.name == *name && s.phase == phase.name) {
                    Some(step) => stmts.push(step_node(model, step, segment, states, lang)),
                    None => {
                        let removed = plan.removed.iter().find(|r| r.name == *name);
                        let title = plan_title(process, name);
                        stmts.push(removed_node(
                            name,
                            &title,
                            removed.and_then(|r| r.reason.as_deref()),
                            lang,
                        ))
                    }
                }
            }
            DiagramNode::Start | DiagramNode::End => {
                if matches!(kind, DiagramNode::End) {
                    end_id = id.clone();
                }
                stmts.push(point(&id))
            }
            other => stmts.extend(gateway(&id, other, lang)),
        }
    }
    // Steps the segment adds come at the end of their phase, before the phase is done.
    let added: Vec<&PlannedStep> = plan
        .steps
        .iter()
        .filter(|s| s.phase == phase.name && diagram.element_node(&s.name).is_none())
        .collect();
    for e in &diagram.edges {
        let from = node_id(scope, diagram, e.from);
        let to = node_id(scope, diagram, e.to);
        if !added.is_empty() && matches!(diagram.nodes[e.to], DiagramNode::End) {
            end_predecessors.push(from);
            continue;
        }
        edges.push(flow_edge(
            &from,
            &to,
            e.condition(&say(Word::Segment, lang).to_lowercase()).as_deref(),
            e.back,
            lang,
        ));
    }
    if !added.is_empty() {
        for step in &added {
            stmts.push(step_node(model, step, segment, states, lang));
        }
        let first = format!("step:{}", added[0].name);
        for from in &end_predecessors {
            edges.push(flow_edge(from, &first, None, false, lang));
        }
        for pair in added.windows(2) {
            edges.push(flow_edge(
                &format!("step:{}", pair[0].name),
                &format!("step:{}", pair[1].name),
                None,
                false,
                lang,
            ));
        }
        let last = format!("step:{}", added[added.len() - 1].name);
        edges.push(flow_edge(&last, &end_id, None, false, lang));
    }
    cluster(&format!("phase_{}", phase.name), stmts)
}

fn plan_title(process: &Process, step: &str) -> String {
    process
        .generic
        .step(step)
        .map(|s| s.title.clone())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| step.to_owned())
}

/// The DOT of one process, generic or as one segment's plan.
pub fn dot(model: &Model, process: &Process, segment: Option<&str>, lang: Lang) -> String {
    dot_with_states(model, process, segment, None, lang)
}

/// The DOT of one process as one case stands: each step coloured by its state (done,
/// in progress, pending, overdue, not needed).
pub fn dot_with_states(
    model: &Model,
    process: &Process,
    segment: Option<&str>,
    states: Option<&States>,
    lang: Lang,
) -> String {
    let plan = process.plan(segment);
    let mut stmts = Vec::new();
    let mut edges = Vec::new();
    let mut title = format!("<B>{}</B>", xml_escape(process_title(model, &process.name)));
    if let Some(segment) = segment {
        // On a line of its own: a bold title measured in one font and drawn in another can
        // run into what follows it on the same line.
        title.push_str(&format!(
            "<BR/>{}: {}",
            xml_escape(say(Word::Segment, lang)),
            xml_escape(segment)
        ));
        if let Some(responsible) = &plan.responsible {
            title.push_str(&format!(
                "<BR/><FONT POINT-SIZE=\"11\">{}: {}</FONT>",
                xml_escape(say(Word::Responsible, lang)),
                xml_escape(role_title(model, responsible))
            ));
        }
    }
    stmts.push(Stmt::Attribute(attr("label", html(&title))));
    stmts.push(Stmt::Attribute(text_attr("labelloc", "t")));
    stmts.push(Stmt::Attribute(text_attr("compound", "true")));
    let phases = &process.phase_diagram;
    for (index, kind) in phases.nodes.iter().enumerate() {
        match kind {
            DiagramNode::Element(name) => {
                if let Some(i) = process.phases.iter().position(|p| p.name == *name) {
                    stmts.push(phase_cluster(
                        model,
                        process,
                        i,
                        plan,
                        segment.is_some(),
                        states,
                        lang,
                        &mut edges,
                    ));
                }
            }
            other => stmts.extend(gateway(&node_id("", phases, index), other, lang)),
        }
    }
    // A phase is entered at its own start and left at its own end.
    let anchor = |index: usize, end: bool| -> String {
        match &phases.nodes[index] {
            DiagramNode::Element(name) => {
                let inner = process.phases.iter().find(|p| p.name == *name).map(|p| &p.diagram);
                let position = inner.and_then(|d| {
                    d.nodes.iter().position(|n| {
                        if end {
                            matches!(n, DiagramNode::End)
                        } else {
                            matches!(n, DiagramNode::Start)
                        }
                    })
                });
                match position {
                    Some(p) => format!("g:{name}:{p}"),
                    None => format!("phase:{name}"),
                }
            }
            _ => node_id("", phases, index),
        }
    };
    for e in &phases.edges {
        let from = anchor(e.from, true);
        let to = anchor(e.to, false);
        let mut arrow = flow_edge(
            &from,
            &to,
            e.condition(&say(Word::Segment, lang).to_lowercase()).as_deref(),
            e.back,
            lang,
        );
        // An arrow into a phase ends at the phase's border, above its title, rather than
        // running through the title to the start inside.
        if let (DiagramNode::Element(name), false, Stmt::Edge(edge)) =
            (&phases.nodes[e.to], e.back, &mut arrow)
        {
            if to.starts_with("g:") {
                edge.attributes.push(text_attr("lhead", &format!("cluster_phase_{name}")));
            }
        }
        edges.push(arrow);
    }
    stmts.extend(edges);
    dot::print(&dot::digraph("level3", "TB", stmts))
}
