//! PNML export of workflow nets (ISO/IEC 15909-2 place/transition nets), with the initial and
//! final markings in the form process-mining tools read.

use std::fmt::Write as _;

use crate::net::{Net, TransitionKind};

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
            escape(net.place_name(place))
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
