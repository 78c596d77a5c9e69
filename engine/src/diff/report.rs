//! The differences as a person reads them: grouped by level under a heading, one line per
//! change, what happened in one column and to what in the next, with the attributes that
//! changed as `määräaika 4 vk → 6 vk`.

use polku_dsl::Lang;

use super::words::{channel, Word};
use super::{Arrow, Change, Detail, Kind, Value};

/// Shown for an attribute one version does not give.
const NOTHING: &str = "–";

/// The report: the changes under their levels' headings and a count, or a line saying there
/// are none. Ends with a line break.
pub fn human(changes: &[Change], lang: Lang) -> String {
    if changes.is_empty() {
        return format!("{}\n", Word::NoDifferences.say(lang));
    }
    let mut out = String::new();
    for level in 1..=4u8 {
        let lines: Vec<(String, String)> = changes
            .iter()
            .filter(|c| c.level == level)
            .map(|c| (phrase(c, lang), target(c, lang)))
            .collect();
        if lines.is_empty() {
            continue;
        }
        let heading =
            [Word::Level1, Word::Level2, Word::Level3, Word::Level4][usize::from(level - 1)];
        out.push_str(heading.say(lang));
        out.push('\n');
        let width = lines.iter().map(|(p, _)| p.chars().count()).max().unwrap_or(0);
        for (phrase, target) in lines {
            let pad = " ".repeat(width - phrase.chars().count());
            out.push_str(&format!("  {phrase}{pad}  {target}\n"));
        }
        out.push('\n');
    }
    let count = match changes.len() {
        1 => Word::OneChange.say(lang).to_owned(),
        n => Word::Changes.say(lang).replace("{n}", &n.to_string()),
    };
    out.push_str(&count);
    out.push('\n');
    out
}

/// What happened: "Lisätty palvelu", "Segmentti tuki lisää nyt askeleen".
fn phrase(change: &Change, lang: Lang) -> String {
    match (change.subject.segment_phrase(change.kind), &change.segment) {
        (Some(word), Some(segment)) => word.say(lang).replace("{segment}", segment),
        _ => format!("{} {}", change.kind.word().say(lang), change.subject.word().say(lang)),
    }
}

/// To what: the path of names, the title of what was added or removed, and the attributes.
fn target(change: &Change, lang: Lang) -> String {
    let mut out = change.path.join(".");
    let title = match change.kind {
        Kind::Added => change.new_title.as_ref(),
        Kind::Removed => change.old_title.as_ref(),
        Kind::Changed => None,
    };
    if let Some(title) = title {
        out.push_str(&format!(" \"{title}\""));
    }
    if !change.details.is_empty() {
        let details: Vec<String> =
            change.details.iter().map(|d| detail(d, change.kind, lang)).collect();
        out.push_str(": ");
        out.push_str(&details.join("; "));
    }
    out
}

/// One attribute: `määräaika 4 vk → 6 vk`, `palvelut +perhevalmennus`, or for something added
/// only its value.
fn detail(detail: &Detail, kind: Kind, lang: Lang) -> String {
    let mut out = detail.attribute.word().say(lang).to_owned();
    if let Some(item) = &detail.item {
        out.push(' ');
        out.push_str(item);
    }
    out.push(' ');
    let (old, new) = (detail.old.as_ref(), detail.new.as_ref());
    let listed = |v: Option<&Value>| matches!(v, Some(Value::Set(_) | Value::Arrows(_)));
    if listed(old) || listed(new) {
        out.push_str(&added_and_removed(old, new, lang));
        return out;
    }
    let shown = |v: Option<&Value>| v.map_or_else(|| NOTHING.to_owned(), |v| value(v, lang));
    match (old, new, kind) {
        (None, Some(new), Kind::Added) => out.push_str(&value(new, lang)),
        (Some(old), None, Kind::Removed) => out.push_str(&value(old, lang)),
        _ => out.push_str(&format!("{} → {}", shown(old), shown(new))),
    }
    out
}

/// A value as the reader sees it: free text in quotes, names as written, yes or no and the
/// channels in the reader's language.
fn value(value: &Value, lang: Lang) -> String {
    match value {
        Value::Flag(true) => Word::Yes.say(lang).to_owned(),
        Value::Flag(false) => Word::No.say(lang).to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Text(text) => format!("\"{text}\""),
        Value::Written(text) => text.clone(),
        Value::Channel(c) => channel(*c).say(lang).to_owned(),
        Value::Names(names) | Value::Order(names) | Value::Set(names) => names.join(", "),
        Value::Arrows(arrows) => {
            arrows.iter().map(|a| arrow(a, lang)).collect::<Vec<_>>().join(", ")
        }
    }
}

/// What a collection gained (`+`) and lost (`−`).
fn added_and_removed(old: Option<&Value>, new: Option<&Value>, lang: Lang) -> String {
    let items = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Arrows(arrows)) => arrows.iter().map(|a| arrow(a, lang)).collect(),
            Some(Value::Set(items)) => items.clone(),
            Some(other) => vec![value(other, lang)],
            None => Vec::new(),
        }
    };
    let (old, new) = (items(old), items(new));
    let gained = new.iter().filter(|i| !old.contains(i)).map(|i| format!("+{i}"));
    let lost = old.iter().filter(|i| !new.contains(i)).map(|i| format!("−{i}"));
    gained.chain(lost).collect::<Vec<_>>().join(", ")
}

/// An arrow as the flow writes it, with the branch it takes: `a -> b (kun segmentti tuki)`.
pub(super) fn arrow(arrow: &Arrow, lang: Lang) -> String {
    let end = |name: &Option<String>, word: Word| {
        name.clone().unwrap_or_else(|| format!("({})", word.say(lang)))
    };
    let mut out = format!("{} -> {}", end(&arrow.from, Word::Start), end(&arrow.to, Word::End));
    let mut notes = Vec::new();
    if arrow.parallel {
        notes.push(Word::Parallel.say(lang).to_owned());
    }
    if arrow.default {
        notes.push(Word::Otherwise.say(lang).to_owned());
    }
    if !arrow.segments.is_empty() {
        notes.push(format!("{} {}", Word::WhenSegment.say(lang), arrow.segments.join(", ")));
    }
    if arrow.back {
        notes.push(Word::Repeat.say(lang).to_owned());
        if let Some(condition) = &arrow.condition {
            notes.push(format!("{} \"{condition}\"", Word::Until.say(lang)));
        }
    } else if let (Some(condition), false) = (&arrow.condition, arrow.default) {
        // The default branch's label is the keyword `muuten` itself, already said.
        notes.push(format!("{} \"{condition}\"", Word::When.say(lang)));
    }
    if !notes.is_empty() {
        out.push_str(&format!(" ({})", notes.join(", ")));
    }
    out
}
