//! PNML export of workflow nets (ISO/IEC 15909-2 place/transition nets), with the initial and
//! final markings in the form process-mining tools read.

use std::fmt::Write as _;

use crate::net::{Net, TransitionKind, Verdict};

/// A place's name, or `p` and its number for a place the flow did not name.
fn place_label(net: &Net, place: crate::net::PlaceId) -> String {
    match net.place_name(place) {
        "" => format!("p{}", place.index()),
        name => name.to_owned(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Writes a net as a PNML document. Element transitions carry their name as the label; silent
/// transitions (start, end, split, join, loop) have no label.
pub fn write(net: &Net, id: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(out, r#"<pnml>"#);
    let _ = writeln!(
        out,
        r#"  <net id="{}" type="http://www.pnml.org/version-2009/grammar/pnmlcoremodel">"#,
        escape(id)
    );
    let _ = writeln!(out, r#"    <name><text>{}</text></name>"#, escape(id));
    let _ = writeln!(out, r#"    <page id="page">"#);
    for place in net.places() {
        let initial = net.source() == Some(place);
        let _ = write!(
            out,
            r#"      <place id="p{}"><name><text>{}</text></name>"#,
            place.index(),
            escape(&place_label(net, place))
        );
        if initial {
            let _ = write!(out, "<initialMarking><text>1</text></initialMarking>");
        }
        let _ = writeln!(out, "</place>");
    }
    for transition in net.transitions() {
        let index = transition.index();
        match net.kind(transition) {
            TransitionKind::Element(name) => {
                let _ = writeln!(
                    out,
                    r#"      <transition id="t{index}"><name><text>{}</text></name></transition>"#,
                    escape(name)
                );
            }
            other => {
                let what = match other {
                    TransitionKind::Start => "start",
                    TransitionKind::End => "end",
                    TransitionKind::Split(_) => "split",
                    TransitionKind::Join(_) => "join",
                    TransitionKind::Arrow => "arrow",
                    _ => "redo",
                };
                let _ = writeln!(
                    out,
                    r#"      <transition id="t{index}"><name><text>tau_{what}_{index}</text></name><toolspecific tool="ProM" version="6.4" activity="$invisible$" localNodeID="t{index}"/></transition>"#
                );
            }
        }
    }
    let mut arc = 0usize;
    for transition in net.transitions() {
        let t = transition.index();
        for place in net.pre(transition) {
            let _ = writeln!(
                out,
                r#"      <arc id="a{arc}" source="p{}" target="t{t}"/>"#,
                place.index()
            );
            arc += 1;
        }
        for place in net.post(transition) {
            let _ = writeln!(
                out,
                r#"      <arc id="a{arc}" source="t{t}" target="p{}"/>"#,
                place.index()
            );
            arc += 1;
        }
    }
    let _ = writeln!(out, "    </page>");
    if let Some(sink) = net.sink() {
        let _ = writeln!(
            out,
            r#"    <finalmarkings><marking><place idref="p{}"><text>1</text></place></marking></finalmarkings>"#,
            sink.index()
        );
    }
    let _ = writeln!(out, "  </net>");
    let _ = writeln!(out, "</pnml>");
    out
}

/// One net to export: its name, what it describes, the net and Polku's verdict.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub net: &'a Net,
    pub verdict: &'a Verdict,
}

/// The files of an export: one `KIND.NAME.pnml` per net and `verdicts.json` listing each net's
/// file, Polku's soundness verdict (`null` when undecided) and the number of states explored.
pub fn export(entries: &[Entry]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut verdicts = Vec::new();
    for entry in entries {
        let file = format!("{}.{}.pnml", entry.kind, entry.name);
        files.push((file.clone(), write(entry.net, entry.name)));
        let (sound, states) = match entry.verdict {
            Verdict::Sound { states } => ("true", states),
            Verdict::Unsound { states, .. } => ("false", states),
            Verdict::Undecided { states } => ("null", states),
        };
        verdicts.push(format!(
            "  {{\"name\": \"{}\", \"kind\": \"{}\", \"file\": \"{}\", \"sound\": {sound}, \"states\": {states}}}",
            json_escape(entry.name),
            json_escape(entry.kind),
            json_escape(&file)
        ));
    }
    files.push(("verdicts.json".to_owned(), format!("[\n{}\n]\n", verdicts.join(",\n"))));
    files
}

fn json_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}
