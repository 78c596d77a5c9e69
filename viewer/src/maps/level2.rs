//! Level 2: a segmentation as the quadrant picture of the pärjääjä model.
//!
//! The first axis runs across (need for help: light to abundant), the second down (resources:
//! good to weakened), so pärjääjä stands top left and huolenpito bottom right, as in the
//! region's own slides. Each segment links to its profile card on the page. A segmentation
//! with another number of axes, or segments without a place, gets a row of its own.

use polku_dsl::Lang;
use polku_engine::model::{SegmentProfile, Segmentation};

use super::dot::{self, attr, html, node, text_attr};
use super::{say, wrap, xml_escape, Word};

const COLOURS: [&str; 4] = ["#e3f1e0", "#fdf1d6", "#e1ecf7", "#f8e1e1"];

fn cell(profile: &SegmentProfile, colour: &str) -> String {
    let title = if profile.title.is_empty() { &profile.name } else { &profile.title };
    let mut inner = format!("<B>{}</B>", dot::lines(&wrap(title, 24)));
    if let Some(strategy) = &profile.basic_strategy {
        // The first sentence of the basic strategy; the whole card is on the page.
        let first = strategy.split(". ").next().unwrap_or(strategy).trim_end_matches('.');
        inner.push_str(&format!(
            "<BR/><FONT POINT-SIZE=\"10\" COLOR=\"#333333\">{}</FONT>",
            dot::lines(&wrap(first, 34))
        ));
    }
    format!(
        "<TD HREF=\"#segment-{id}\" TITLE=\"{tooltip}\" ID=\"segment-cell-{id}\" BGCOLOR=\"{colour}\" WIDTH=\"230\" HEIGHT=\"90\" CELLPADDING=\"8\">{inner}</TD>",
        id = xml_escape(&profile.name),
        tooltip = xml_escape(title),
    )
}

/// The DOT of one segmentation's quadrant.
pub fn dot(name: &str, segmentation: &Segmentation, lang: Lang) -> String {
    let colour = |index: usize| COLOURS[index % COLOURS.len()];
    let mut rows = String::new();
    let mut unplaced: Vec<(usize, &SegmentProfile)> = Vec::new();
    if let [across, down] = segmentation.axes.as_slice() {
        rows.push_str(&format!(
            "<TR><TD BORDER=\"0\"><I>{} ↓ / {} →</I></TD>",
            xml_escape(&down.title),
            xml_escape(&across.title)
        ));
        for value in &across.values {
            rows.push_str(&format!("<TD BORDER=\"0\"><B>{}</B></TD>", xml_escape(value)));
        }
        rows.push_str("</TR>");
        for down_value in &down.values {
            rows.push_str(&format!("<TR><TD BORDER=\"0\"><B>{}</B></TD>", xml_escape(down_value)));
            for across_value in &across.values {
                let here: Vec<(usize, &SegmentProfile)> = segmentation
                    .profiles
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.position.iter().any(|(a, v)| *a == across.name && v == across_value)
                            && p.position.iter().any(|(a, v)| *a == down.name && v == down_value)
                    })
                    .collect();
                match here.as_slice() {
                    [] => {
                        rows.push_str("<TD BGCOLOR=\"#fafafa\" WIDTH=\"230\" HEIGHT=\"90\">–</TD>")
                    }
                    [(index, profile)] => rows.push_str(&cell(profile, colour(*index))),
                    several => {
                        rows.push_str("<TD BORDER=\"0\"><TABLE BORDER=\"0\" CELLSPACING=\"2\">");
                        for (index, profile) in several {
                            rows.push_str(&format!("<TR>{}</TR>", cell(profile, colour(*index))));
                        }
                        rows.push_str("</TABLE></TD>");
                    }
                }
            }
            rows.push_str("</TR>");
        }
        for (index, profile) in segmentation.profiles.iter().enumerate() {
            let placed = |axis: &polku_engine::model::Axis| {
                profile.position.iter().any(|(a, v)| *a == axis.name && axis.values.contains(v))
            };
            if !(placed(across) && placed(down)) {
                unplaced.push((index, profile));
            }
        }
    } else {
        unplaced = segmentation.profiles.iter().enumerate().collect();
    }
    if !unplaced.is_empty() {
        let columns = segmentation.axes.first().map_or(1, |a| a.values.len()).max(1) + 1;
        rows.push_str(&format!(
            "<TR><TD BORDER=\"0\" COLSPAN=\"{columns}\"><I>{}</I></TD></TR><TR>",
            xml_escape(say(Word::NoPosition, lang))
        ));
        for (index, profile) in unplaced {
            rows.push_str(&cell(profile, colour(index)));
        }
        rows.push_str("</TR>");
    }
    let label = format!(
        "<TABLE BORDER=\"0\" CELLBORDER=\"1\" CELLSPACING=\"6\" COLOR=\"#8a8a8a\">{rows}</TABLE>"
    );
    let title = if segmentation.title.is_empty() { name } else { &segmentation.title };
    let stmts = vec![
        dot::Stmt::Attribute(attr("label", html(&format!("<B>{}</B>", xml_escape(title))))),
        dot::Stmt::Attribute(text_attr("labelloc", "t")),
        node(
            &format!("segmentation:{name}"),
            vec![
                text_attr("shape", "plaintext"),
                text_attr("style", ""),
                attr("label", html(&label)),
                text_attr("id", &format!("quadrant-{name}")),
            ],
        ),
    ];
    dot::print(&dot::digraph("level2", "TB", stmts))
}
