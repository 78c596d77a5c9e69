//! Level 4: a workflow as swimlanes, laid out here and written as SVG.
//!
//! Lanes are rows, one per role, the client's lanes first. A task's column is its rank on the
//! task flow: the longest way to it from the start, not counting the arrows back of loops, so
//! everything flows left to right. Tasks of one lane in one column stack in sub-rows. Arrows
//! are right-angled: out of a task's right side, along the gap before the target's column (or
//! along the corridor above a row when they pass other columns), into the target's left side.
//! Hand-offs are numbered on their arrow and spelled out under the lanes, so that no label
//! has to fit between boxes. The layout is deterministic: the same workflow gives the same SVG.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use polku_dsl::Lang;
use polku_engine::diagram::DiagramNode;
use polku_engine::model::Workflow;
use polku_engine::plan::describe_duration;
use polku_engine::Model;

use super::{paths, role_title, say, wrap, xml_escape, Word};

const HEADER_WIDTH: f64 = 150.0;
const TASK_WIDTH: f64 = 196.0;
const SMALL_WIDTH: f64 = 30.0;
const GAP: f64 = 54.0;
const ROW_PAD: f64 = 22.0;
const LINE: f64 = 15.0;
const CHARS: usize = 27;
const MARGIN: f64 = 12.0;

#[derive(Debug, Clone)]
struct Placed {
    lane: usize,
    column: usize,
    row: usize,
}

/// The finished layout of one workflow: where every node of its diagram stands.
#[derive(Debug)]
pub struct Layout {
    lanes: Vec<usize>,
    places: Vec<Option<Placed>>,
    back: Vec<bool>,
    column_x: Vec<f64>,
    column_width: Vec<f64>,
    lane_y: Vec<f64>,
    lane_rows: Vec<usize>,
    box_height: f64,
    width: f64,
    height: f64,
}

/// Which arrows go back (close a loop): found by a depth-first search from the start, so that
/// a flow with a cycle not written as `toista` still lays out.
fn back_edges(workflow: &Workflow) -> Vec<bool> {
    let d = &workflow.diagram;
    let mut back: Vec<bool> = d.edges.iter().map(|e| e.back).collect();
    let mut state = vec![0u8; d.nodes.len()];
    let starts: Vec<usize> = (0..d.nodes.len())
        .filter(|&n| matches!(d.nodes[n], DiagramNode::Start))
        .chain(0..d.nodes.len())
        .collect();
    for root in starts {
        if state[root] != 0 {
            continue;
        }
        // Iterative depth-first search: (node, next edge index to look at).
        let mut stack = vec![(root, 0usize)];
        state[root] = 1;
        while let Some((node, next)) = stack.last().copied() {
            let out: Vec<usize> =
                (0..d.edges.len()).filter(|&e| d.edges[e].from == node && !back[e]).collect();
            if next < out.len() {
                stack.last_mut().expect("the stack holds this node").1 += 1;
                let e = out[next];
                let to = d.edges[e].to;
                match state[to] {
                    0 => {
                        state[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => back[e] = true,
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    back
}

/// Longest-path ranks over the forward arrows.
fn ranks(workflow: &Workflow, back: &[bool]) -> Vec<usize> {
    let d = &workflow.diagram;
    let n = d.nodes.len();
    let mut indegree = vec![0usize; n];
    for (e, edge) in d.edges.iter().enumerate() {
        if !back[e] {
            indegree[edge.to] += 1;
        }
    }
    let mut rank = vec![0usize; n];
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    while let Some(node) = queue.pop_front() {
        for (e, edge) in d.edges.iter().enumerate() {
            if back[e] || edge.from != node {
                continue;
            }
            rank[edge.to] = rank[edge.to].max(rank[node] + 1);
            indegree[edge.to] -= 1;
            if indegree[edge.to] == 0 {
                queue.push_back(edge.to);
            }
        }
    }
    rank
}

/// The lane of every node: a task's own; a gateway, start or end takes the lane of the node it
/// is next to.
fn node_lanes(workflow: &Workflow, order: &[usize]) -> Vec<Option<usize>> {
    let d = &workflow.diagram;
    let lane_index = |lane: usize| order.iter().position(|&l| l == lane);
    let mut lanes: Vec<Option<usize>> = d
        .nodes
        .iter()
        .map(|n| match n {
            DiagramNode::Element(task) => workflow.lane_of(task).and_then(lane_index),
            _ => None,
        })
        .collect();
    for _ in 0..d.nodes.len() {
        let mut changed = false;
        for i in 0..d.nodes.len() {
            if lanes[i].is_some() {
                continue;
            }
            let prefer_successor =
                matches!(d.nodes[i], DiagramNode::Start | DiagramNode::Join | DiagramNode::Merge);
            let successor = d.edges.iter().find(|e| e.from == i).and_then(|e| lanes[e.to]);
            let predecessor = d.edges.iter().find(|e| e.to == i).and_then(|e| lanes[e.from]);
            let found = if prefer_successor {
                successor.or(predecessor)
            } else {
                predecessor.or(successor)
            };
            if found.is_some() {
                lanes[i] = found;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    lanes
}

fn is_task(node: &DiagramNode) -> bool {
    matches!(node, DiagramNode::Element(_))
}

/// The lines inside a task's box.
fn task_lines(
    model: &Model,
    workflow: &Workflow,
    name: &str,
    lang: Lang,
) -> Vec<(String, &'static str)> {
    let Some(task) = workflow.task(name) else { return vec![(name.to_owned(), "title")] };
    let title = if task.title.is_empty() { &task.name } else { &task.title };
    let mut lines: Vec<(String, &'static str)> =
        wrap(title, CHARS).into_iter().map(|l| (l, "title")).collect();
    let mut details = Vec::new();
    if let Some(d) = &task.duration {
        details.push(describe_duration(d));
    }
    if let Some(c) = task.channel {
        details.push(c.keyword().to_owned());
    }
    if task.optional {
        details.push(say(Word::Optional, lang).to_owned());
    }
    if !details.is_empty() {
        lines.extend(wrap(&details.join(" · "), CHARS + 4).into_iter().map(|l| (l, "detail")));
    }
    if let Some(step) = &task.step {
        let process = model.processes.get(&workflow.process);
        let step_title = process
            .and_then(|p| {
                std::iter::once(&p.generic)
                    .chain(p.plans.values())
                    .flat_map(|plan| &plan.steps)
                    .find(|s| s.name == *step)
            })
            .map(|s| s.title.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| step.clone());
        let text = format!("▸ {}: {step_title}", say(Word::PerformsStep, lang));
        lines.extend(wrap(&text, CHARS + 4).into_iter().map(|l| (l, "step-link")));
    }
    lines
}

/// The condition written on the branch that enters a node, shown at the top of its box.
fn entry_condition(workflow: &Workflow, node: usize, lang: Lang) -> Option<String> {
    let segment = say(Word::Segment, lang).to_lowercase();
    workflow
        .diagram
        .edges
        .iter()
        .filter(|e| e.to == node && !e.back)
        .find_map(|e| e.condition(&segment))
}

/// Lays out a workflow.
pub fn layout(model: &Model, workflow: &Workflow, lang: Lang) -> Layout {
    let d = &workflow.diagram;
    let client =
        |lane: usize| model.roles.get(&workflow.lanes[lane].role).is_some_and(|r| r.client);
    let mut order: Vec<usize> = (0..workflow.lanes.len()).filter(|&l| client(l)).collect();
    order.extend((0..workflow.lanes.len()).filter(|&l| !client(l)));
    let back = back_edges(workflow);
    let rank = ranks(workflow, &back);
    let lanes = node_lanes(workflow, &order);
    let columns = rank.iter().copied().max().map_or(1, |r| r + 1);
    let mut places: Vec<Option<Placed>> = vec![None; d.nodes.len()];
    let mut used: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut lane_rows = vec![1usize; order.len().max(1)];
    for i in 0..d.nodes.len() {
        // A start or end that nothing connects to is left out.
        let connected = d.edges.iter().any(|e| e.from == i || e.to == i);
        if !connected && !is_task(&d.nodes[i]) {
            continue;
        }
        let lane = lanes[i].unwrap_or(0);
        let slot = used.entry((lane, rank[i])).or_insert(0);
        let row = *slot;
        *slot += 1;
        if lane < lane_rows.len() {
            lane_rows[lane] = lane_rows[lane].max(row + 1);
        }
        places[i] = Some(Placed { lane, column: rank[i], row });
    }
    let mut column_width = vec![SMALL_WIDTH; columns];
    for (i, place) in places.iter().enumerate() {
        if let (Some(p), true) = (place, is_task(&d.nodes[i])) {
            column_width[p.column] = TASK_WIDTH;
        }
    }
    let mut column_x = Vec::with_capacity(columns);
    let mut x = MARGIN + HEADER_WIDTH + GAP * 0.6;
    for w in &column_width {
        column_x.push(x);
        x += w + GAP;
    }
    let mut max_lines = 2usize;
    for (i, n) in d.nodes.iter().enumerate() {
        if let DiagramNode::Element(task) = n {
            let condition = usize::from(entry_condition(workflow, i, lang).is_some());
            max_lines = max_lines.max(task_lines(model, workflow, task, lang).len() + condition);
        }
    }
    let box_height = max_lines as f64 * LINE + 14.0;
    let mut lane_y = Vec::with_capacity(order.len());
    let mut y = MARGIN + 34.0;
    for rows in &lane_rows {
        lane_y.push(y);
        y += *rows as f64 * (box_height + ROW_PAD) + ROW_PAD;
    }
    let handoff_lines = workflow.handoffs.len();
    let height =
        y + MARGIN + if handoff_lines > 0 { 26.0 + handoff_lines as f64 * 18.0 } else { 0.0 };
    let legend_width = workflow
        .handoffs
        .iter()
        .map(|h| 60.0 + 7.0 * h.what.as_deref().unwrap_or("").chars().count() as f64)
        .fold(0.0, f64::max);
    let width = (x - GAP + MARGIN + 10.0).max(legend_width + 2.0 * MARGIN).max(420.0);
    Layout {
        lanes: order,
        places,
        back,
        column_x,
        column_width,
        lane_y,
        lane_rows,
        box_height,
        width,
        height,
    }
}

impl Layout {
    /// The box of a node: left, top, width, height.
    fn rect(&self, place: &Placed, task: bool) -> (f64, f64, f64, f64) {
        let top =
            self.lane_y[place.lane] + ROW_PAD + place.row as f64 * (self.box_height + ROW_PAD);
        if task {
            (self.column_x[place.column], top, TASK_WIDTH, self.box_height)
        } else {
            let size = SMALL_WIDTH - 6.0;
            let left = self.column_x[place.column] + (self.column_width[place.column] - size) / 2.0;
            (left, top + (self.box_height - size) / 2.0, size, size)
        }
    }

    /// Where the arrows of a node leave and arrive: the middle of its right and left side.
    fn ports(&self, place: &Placed, task: bool) -> ((f64, f64), (f64, f64)) {
        let (x, y, w, h) = self.rect(place, task);
        ((x + w, y + h / 2.0), (x, y + h / 2.0))
    }

    fn lane_height(&self, lane: usize) -> f64 {
        self.lane_rows[lane] as f64 * (self.box_height + ROW_PAD) + ROW_PAD
    }
}

fn fmt(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// The SVG of one workflow's swimlanes.
pub fn svg(model: &Model, workflow: &Workflow, lang: Lang) -> String {
    let layout = layout(model, workflow, lang);
    let d = &workflow.diagram;
    let mut out = String::new();
    let (w, h) = (layout.width, layout.height);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" class="swimlanes" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Arial, 'Liberation Sans', Helvetica, sans-serif" font-size="12">
<title>{label}</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker></defs>
<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>
<text x="{mx}" y="{ty}" font-size="15" font-weight="bold">{label}</text>
"##,
        w = fmt(w),
        h = fmt(h),
        mx = fmt(MARGIN),
        ty = fmt(MARGIN + 16.0),
        label = xml_escape(&format!(
            "{} ({} {})",
            workflow.title,
            say(Word::Workflow, lang).to_lowercase(),
            workflow_target(workflow)
        )),
    );
    // Lanes.
    for (index, &lane) in layout.lanes.iter().enumerate() {
        let role = &workflow.lanes[lane].role;
        let is_client = model.roles.get(role).is_some_and(|r| r.client);
        let y = layout.lane_y[index];
        let lh = layout.lane_height(index);
        let fill = if is_client {
            "#eef5fc"
        } else if index % 2 == 0 {
            "#ffffff"
        } else {
            "#f7f7f7"
        };
        let _ = write!(
            out,
            r##"<g class="lane{client}" id="lane-{id}"><rect x="{x}" y="{y}" width="{lw}" height="{lh}" fill="{fill}" stroke="#9a9a9a"/><rect x="{x}" y="{y}" width="{hw}" height="{lh}" fill="{hfill}" stroke="#9a9a9a"/>"##,
            client = if is_client { " client-lane" } else { "" },
            id = xml_escape(role),
            x = fmt(MARGIN),
            y = fmt(y),
            lw = fmt(w - 2.0 * MARGIN),
            lh = fmt(lh),
            hw = fmt(HEADER_WIDTH),
            fill = fill,
            hfill = if is_client { "#dce9f7" } else { "#ececec" },
        );
        let mut title_lines = wrap(role_title(model, role), 18);
        if is_client {
            title_lines.push(format!("({})", say(Word::ClientLane, lang)));
        }
        let first = y + lh / 2.0 - (title_lines.len() as f64 - 1.0) * LINE / 2.0 + 4.0;
        for (i, line) in title_lines.iter().enumerate() {
            let _ = write!(
                out,
                r#"<text class="lane-title" x="{x}" y="{y}" font-weight="{weight}">{t}</text>"#,
                x = fmt(MARGIN + 10.0),
                y = fmt(first + i as f64 * LINE),
                weight = if i == 0 { "bold" } else { "normal" },
                t = xml_escape(line),
            );
        }
        out.push_str("</g>\n");
    }
    // Arrows under the boxes.
    let mut handoff_marks: Vec<(f64, f64, usize)> = Vec::new();
    for (e, edge) in d.edges.iter().enumerate() {
        let (Some(from), Some(to)) = (&layout.places[edge.from], &layout.places[edge.to]) else {
            continue;
        };
        let (out_port, _) = layout.ports(from, is_task(&d.nodes[edge.from]));
        let (_, in_port) = layout.ports(to, is_task(&d.nodes[edge.to]));
        let path = route(&layout, from, to, out_port, in_port, layout.back[e]);
        let class = if layout.back[e] { "flow loop" } else { "flow" };
        let _ = writeln!(
            out,
            r##"<path class="{class}" d="{path}" fill="none" stroke="#555555" stroke-width="1.3"{dash} marker-end="url(#arrow)"/>"##,
            dash = if layout.back[e] { r#" stroke-dasharray="5,3""# } else { "" },
        );
        if layout.back[e] {
            let (x, y) = (out_port.0 + 6.0, top_corridor(&layout, from) - 3.0);
            let text = match &edge.label {
                Some(l) => format!("{} {} {l}", say(Word::Repeat, lang), say(Word::Until, lang)),
                None => say(Word::Repeat, lang).to_owned(),
            };
            let _ = writeln!(
                out,
                r##"<text class="loop-label" x="{x}" y="{y}" font-size="10" fill="#555555">{t}</text>"##,
                x = fmt(x),
                y = fmt(y),
                t = xml_escape(&text),
            );
        }
        if let (DiagramNode::Element(a), DiagramNode::Element(b)) =
            (&d.nodes[edge.from], &d.nodes[edge.to])
        {
            if let Some(k) = workflow.handoffs.iter().position(|h| h.from == *a && h.to == *b) {
                handoff_marks.push((out_port.0 + 12.0, out_port.1, k));
            }
        }
    }
    // Hand-offs with no arrow of the flow between their tasks get a dashed one of their own.
    for (k, handoff) in workflow.handoffs.iter().enumerate() {
        if handoff_marks.iter().any(|m| m.2 == k) {
            continue;
        }
        let find = |name: &str| d.element_node(name).and_then(|n| layout.places[n].clone());
        let (Some(from), Some(to)) = (find(&handoff.from), find(&handoff.to)) else { continue };
        let (out_port, _) = layout.ports(&from, true);
        let (_, in_port) = layout.ports(&to, true);
        let backwards = to.column <= from.column;
        let path = route(&layout, &from, &to, out_port, in_port, backwards);
        let _ = writeln!(
            out,
            r##"<path class="handoff" d="{path}" fill="none" stroke="#b07d1a" stroke-width="1.3" stroke-dasharray="3,3" marker-end="url(#arrow)"/>"##
        );
        handoff_marks.push((out_port.0 + 12.0, out_port.1, k));
    }
    // Boxes.
    for (i, n) in d.nodes.iter().enumerate() {
        let Some(place) = &layout.places[i] else { continue };
        let (x, y, bw, bh) = layout.rect(place, is_task(n));
        match n {
            DiagramNode::Element(name) => {
                let task = workflow.task(name);
                let optional = task.is_some_and(|t| t.optional);
                let _ = write!(
                    out,
                    r##"<g class="task{opt}" id="task-{id}"><rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="6" fill="white" stroke="#3d5a80" stroke-width="1.4"{dash}/>"##,
                    opt = if optional { " optional" } else { "" },
                    id = xml_escape(name),
                    x = fmt(x),
                    y = fmt(y),
                    bw = fmt(bw),
                    bh = fmt(bh),
                    dash = if optional { r#" stroke-dasharray="5,3""# } else { "" },
                );
                let mut ty = y + 16.0;
                if let Some(condition) = entry_condition(workflow, i, lang) {
                    let text = if condition == "muuten" {
                        say(Word::Otherwise, lang).to_owned()
                    } else {
                        format!("{} {condition}", say(Word::Condition, lang))
                    };
                    let mut line = wrap(&text, CHARS + 4).into_iter().next().unwrap_or_default();
                    if wrap(&text, CHARS + 4).len() > 1 {
                        line.push('…');
                    }
                    let _ = write!(
                        out,
                        r##"<text class="condition" x="{x}" y="{y}" font-size="10" font-style="italic" fill="#6b4a00"><title>{full}</title>{t}</text>"##,
                        x = fmt(x + 8.0),
                        y = fmt(ty),
                        full = xml_escape(&text),
                        t = xml_escape(&line),
                    );
                    ty += LINE;
                }
                for (line, kind) in task_lines(model, workflow, name, lang) {
                    let (size, weight, fill) = match kind {
                        "title" => ("12", "bold", "#1a1a1a"),
                        "detail" => ("10.5", "normal", "#444444"),
                        _ => ("10.5", "normal", "#1f4e8c"),
                    };
                    let text = format!(
                        r#"<text class="{kind}" x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" fill="{fill}">{t}</text>"#,
                        x = fmt(x + 8.0),
                        y = fmt(ty),
                        t = xml_escape(&line),
                    );
                    match (kind, task.and_then(|t| t.step.as_ref())) {
                        ("step-link", Some(step)) => {
                            let _ = write!(
                                out,
                                r#"<a href="{href}#step-{step}">{text}</a>"#,
                                href = xml_escape(&paths::process(&workflow.process, None)),
                                step = xml_escape(step),
                            );
                        }
                        _ => out.push_str(&text),
                    }
                    ty += LINE;
                }
                out.push_str("</g>\n");
            }
            DiagramNode::Start | DiagramNode::End => {
                let (cx, cy, r) = (x + bw / 2.0, y + bh / 2.0, bw / 2.0 - 2.0);
                let end = matches!(n, DiagramNode::End);
                let _ = writeln!(
                    out,
                    r##"<circle class="{class}" cx="{cx}" cy="{cy}" r="{r}" fill="{fill}" stroke="#333333" stroke-width="{sw}"><title>{t}</title></circle>"##,
                    class = if end { "end" } else { "start" },
                    cx = fmt(cx),
                    cy = fmt(cy),
                    r = fmt(r),
                    fill = if end { "#f3d6d6" } else { "#d6ecd6" },
                    sw = if end { "2.5" } else { "1.2" },
                    t = xml_escape(say(if end { Word::End } else { Word::Start }, lang)),
                );
            }
            gateway => {
                let (cx, cy, r) = (x + bw / 2.0, y + bh / 2.0, bw / 2.0);
                let (mark, class) = match gateway {
                    DiagramNode::Split | DiagramNode::Join => ("+", "gateway parallel"),
                    _ => ("×", "gateway choice"),
                };
                let _ = writeln!(
                    out,
                    r##"<g class="{class}"><path d="M{l},{cy} L{cx},{t} L{r2},{cy} L{cx},{b} z" fill="#fff8e1" stroke="#8a6d1a" stroke-width="1.2"/><text x="{cx}" y="{ty}" text-anchor="middle" font-size="14" font-weight="bold">{mark}</text></g>"##,
                    l = fmt(cx - r),
                    r2 = fmt(cx + r),
                    t = fmt(cy - r),
                    b = fmt(cy + r),
                    cx = fmt(cx),
                    cy = fmt(cy),
                    ty = fmt(cy + 5.0),
                );
            }
        }
    }
    // Hand-off numbers on their arrows, and their legend.
    for (x, y, k) in &handoff_marks {
        let _ = writeln!(
            out,
            r##"<g class="handoff-mark"><circle cx="{x}" cy="{y}" r="8" fill="#fdf1d6" stroke="#b07d1a"/><text x="{x}" y="{ty}" text-anchor="middle" font-size="10" font-weight="bold">{n}</text></g>"##,
            x = fmt(*x),
            y = fmt(*y),
            ty = fmt(*y + 3.5),
            n = k + 1,
        );
    }
    if !workflow.handoffs.is_empty() {
        let top = layout.lane_y.last().copied().unwrap_or(MARGIN)
            + layout.lanes.last().map_or(0.0, |_| layout.lane_height(layout.lanes.len() - 1))
            + 22.0;
        let _ = writeln!(
            out,
            r#"<text class="handoff-title" x="{x}" y="{y}" font-weight="bold">{t}</text>"#,
            x = fmt(MARGIN),
            y = fmt(top),
            t = xml_escape(say(Word::Handoffs, lang)),
        );
        for (k, handoff) in workflow.handoffs.iter().enumerate() {
            let title = |name: &str| {
                workflow
                    .task(name)
                    .map(|t| if t.title.is_empty() { t.name.clone() } else { t.title.clone() })
                    .unwrap_or_else(|| name.to_owned())
            };
            let what = handoff
                .what
                .clone()
                .unwrap_or_else(|| format!("{} → {}", title(&handoff.from), title(&handoff.to)));
            let _ = writeln!(
                out,
                r#"<text class="handoff-item" x="{x}" y="{y}"><tspan font-weight="bold">{n}.</tspan> {t}</text>"#,
                x = fmt(MARGIN + 4.0),
                y = fmt(top + 18.0 * (k as f64 + 1.0)),
                n = k + 1,
                t = xml_escape(&what),
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

fn workflow_target(workflow: &Workflow) -> String {
    match &workflow.step {
        Some(step) => format!("{}.{}.{step}", workflow.process, workflow.phase),
        None => format!("{}.{}", workflow.process, workflow.phase),
    }
}

/// The y of the corridor just above a node's row.
fn top_corridor(layout: &Layout, place: &Placed) -> f64 {
    layout.lane_y[place.lane] + ROW_PAD * 0.5 + place.row as f64 * (layout.box_height + ROW_PAD)
}

/// A right-angled route from one node's right side to another's left side.
fn route(
    layout: &Layout,
    from: &Placed,
    to: &Placed,
    (x1, y1): (f64, f64),
    (x2, y2): (f64, f64),
    back: bool,
) -> String {
    // Each target's arrivals use their own vertical channel in the gap before its column, so
    // that arrows into different boxes of one column do not run on top of each other.
    let lane_offset = (to.lane * 3 + to.row) as f64 % 6.0;
    let channel_in = x2 - 10.0 - lane_offset * 5.0;
    if back || to.column <= from.column {
        let corridor = top_corridor(layout, from).min(top_corridor(layout, to));
        let out_x = x1 + 14.0;
        return format!(
            "M{},{} H{} V{} H{} V{} H{}",
            fmt(x1),
            fmt(y1),
            fmt(out_x),
            fmt(corridor),
            fmt(channel_in),
            fmt(y2),
            fmt(x2)
        );
    }
    if to.column == from.column + 1 {
        if (y1 - y2).abs() < 0.5 {
            return format!("M{},{} H{}", fmt(x1), fmt(y1), fmt(x2));
        }
        return format!("M{},{} H{} V{} H{}", fmt(x1), fmt(y1), fmt(channel_in), fmt(y2), fmt(x2));
    }
    // Past other columns: out into the gap, along the corridor above the target's row, down
    // into the gap before the target.
    let out_x = x1 + GAP * 0.35;
    let corridor = top_corridor(layout, to);
    format!(
        "M{},{} H{} V{} H{} V{} H{}",
        fmt(x1),
        fmt(y1),
        fmt(out_x),
        fmt(corridor),
        fmt(channel_in),
        fmt(y2),
        fmt(x2)
    )
}
