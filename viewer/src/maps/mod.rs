//! The maps themselves: pure functions from a compiled [`Model`] to drawings.
//!
//! Levels 1–3 are graphs that Graphviz lays out well, so they are built as graphviz-rust's
//! DOT syntax tree ([`dot`]) and printed as DOT text; laying them out (by `dot` on the server
//! or by its WebAssembly build in the browser) is the caller's business. Level 4 is a swimlane
//! diagram, which Graphviz's clusters cannot draw as real lanes, so [`lanes`] lays it out itself
//! and writes SVG directly.
//!
//! Nothing here does IO. Names and titles are the model's own (Finnish as written); the few
//! words the maps add themselves come in both languages from [`words`].

pub mod dot;
pub mod lanes;
pub mod level1;
pub mod level2;
pub mod level3;
pub mod words;

use polku_dsl::Lang;
use polku_engine::Model;

pub use words::Word;

/// Which map to draw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MapKind {
    /// Level 1: the service catalogue and the service chains.
    Services,
    /// Level 2: one segmentation's quadrant.
    Segmentation(String),
    /// Level 3: one process, generic or as one segment's plan.
    Process { process: String, segment: Option<String> },
    /// Level 4: one workflow, by its target (`process.phase` or `process.phase.step`).
    Workflow(String),
}

/// A drawing: DOT to be laid out, or finished SVG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drawing {
    Dot(String),
    Svg(String),
}

/// What a map request names that the model does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotFound {
    #[error("no process `{0}`")]
    Process(String),
    #[error("process `{process}` has no segment `{segment}`")]
    Segment { process: String, segment: String },
    #[error("no segmentation `{0}`")]
    Segmentation(String),
    #[error("no workflow `{0}`")]
    Workflow(String),
}

/// Draws one map of the model, with the map's own words in `lang`.
pub fn draw(model: &Model, kind: &MapKind, lang: Lang) -> Result<Drawing, NotFound> {
    match kind {
        MapKind::Services => Ok(Drawing::Dot(level1::dot(model, lang))),
        MapKind::Segmentation(name) => model
            .segmentations
            .get(name)
            .map(|s| Drawing::Dot(level2::dot(name, s, lang)))
            .ok_or_else(|| NotFound::Segmentation(name.clone())),
        MapKind::Process { process, segment } => {
            let p =
                model.processes.get(process).ok_or_else(|| NotFound::Process(process.clone()))?;
            if let Some(segment) = segment {
                if !p.plans.contains_key(segment) {
                    return Err(NotFound::Segment {
                        process: process.clone(),
                        segment: segment.clone(),
                    });
                }
            }
            Ok(Drawing::Dot(level3::dot(model, p, segment.as_deref(), lang)))
        }
        MapKind::Workflow(target) => model
            .workflows
            .get(target)
            .map(|w| Drawing::Svg(lanes::svg(model, w, lang)))
            .ok_or_else(|| NotFound::Workflow(target.clone())),
    }
}

/// Every map of a model: level 1, each segmentation, each process generic and per segment,
/// each workflow.
pub fn every_map(model: &Model) -> Vec<MapKind> {
    let mut out = vec![MapKind::Services];
    out.extend(model.segmentations.keys().map(|s| MapKind::Segmentation(s.clone())));
    for (name, process) in &model.processes {
        out.push(MapKind::Process { process: name.clone(), segment: None });
        out.extend(
            process
                .plans
                .keys()
                .map(|s| MapKind::Process { process: name.clone(), segment: Some(s.clone()) }),
        );
    }
    out.extend(model.workflows.keys().map(|w| MapKind::Workflow(w.clone())));
    out
}

/// The addresses of the pages, shared by the maps' links and the server's routes.
pub mod paths {
    /// Percent-encodes a name for a path segment or a query value. Names are letters, digits,
    /// `_` and `.`; anything else (the Finnish letters) is encoded as UTF-8 bytes.
    pub fn encode(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    out.push(byte as char)
                }
                _ => out.push_str(&format!("%{byte:02X}")),
            }
        }
        out
    }

    pub fn services() -> String {
        "/".to_owned()
    }

    pub fn chain(name: &str) -> String {
        format!("/chain/{}", encode(name))
    }

    pub fn service(name: &str) -> String {
        format!("/service/{}", encode(name))
    }

    pub fn segmentation(name: &str) -> String {
        format!("/segmentation/{}", encode(name))
    }

    pub fn process(name: &str, segment: Option<&str>) -> String {
        match segment {
            Some(s) => format!("/process/{}?segment={}", encode(name), encode(s)),
            None => format!("/process/{}", encode(name)),
        }
    }

    pub fn workflow(target: &str) -> String {
        format!("/workflow/{}", encode(target))
    }

    pub fn search(query: &str) -> String {
        format!("/search?q={}", encode(query))
    }
}

/// Breaks a title into lines of at most `width` characters at spaces; a word longer than a
/// line is cut with a hyphen, so that no label runs out of its box.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(4);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word[..width - 1].iter().collect();
            lines.push(format!("{head}-"));
            word.drain(..width - 1);
        }
        let word: String = word.into_iter().collect();
        let needed = if line.is_empty() { 0 } else { line.chars().count() + 1 };
        if needed + word.chars().count() > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Escapes text for XML: SVG text, attributes, and Graphviz's HTML-like labels.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A role's title, or its name when the model gives no title.
pub fn role_title<'a>(model: &'a Model, role: &'a str) -> &'a str {
    model.roles.get(role).map(|r| r.title.as_str()).filter(|t| !t.is_empty()).unwrap_or(role)
}

/// A service's title, or its name.
pub fn service_title<'a>(model: &'a Model, service: &'a str) -> &'a str {
    model
        .services
        .get(service)
        .map(|s| s.title.as_str())
        .filter(|t| !t.is_empty())
        .unwrap_or(service)
}

/// A process's title, or its name.
pub fn process_title<'a>(model: &'a Model, process: &'a str) -> &'a str {
    model
        .processes
        .get(process)
        .map(|p| p.title.as_str())
        .filter(|t| !t.is_empty())
        .unwrap_or(process)
}

/// Says a map word in `lang`.
pub fn say(word: Word, lang: Lang) -> &'static str {
    word.say(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("Huoltajan esitietolomake", 12), ["Huoltajan", "esitietolom-", "ake"]);
        assert_eq!(wrap("a b c", 3), ["a b", "c"]);
        assert_eq!(wrap("  ", 10), Vec::<String>::new());
    }

    #[test]
    fn encodes_finnish_letters_in_paths() {
        assert_eq!(
            paths::process("p", Some("pärjääjä")),
            "/process/p?segment=p%C3%A4rj%C3%A4%C3%A4j%C3%A4"
        );
        assert_eq!(paths::workflow("a.b"), "/workflow/a.b");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
