//! No diagnostic repeats text shaped like a personal identity code, whatever argument it was
//! given: every template of the catalogue, in both languages, with a code in every placeholder,
//! through `render`, `to_json`, `message` and the hints, and in the source excerpt.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

use polku_dsl::diagnostic::{identity_code_shapes, render, to_json, Code};
use polku_dsl::{Diagnostic, Lang, SourceSet, Span};

/// The forms a person types: as issued, glued to a word, without the century sign, with a
/// mistyped check character, in lower case, with a space or an en dash for the sign, and a
/// code whose check character is a digit written as one run of ten digits.
const FORMS: [&str; 9] = [
    "131052-308T",
    "hetu131052-308T",
    "131052308T",
    "131052-308U",
    "010594y9021",
    "131052 308T",
    "131052\u{2013}308T",
    "010516B903X",
    "0105949021",
];

/// The six date digits of every form: none of them may be left in the output.
const DATES: [&str; 3] = ["131052", "010594", "010516"];

/// The names of a template's placeholders, such as `name` in "unknown role `{name}`".
fn placeholders(template: &str) -> Vec<&str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase()))
        .collect()
}

fn assert_clean(out: &str, what: &str) {
    for date in DATES {
        assert!(!out.contains(date), "{what} repeats a code: {out}");
    }
    assert_eq!(identity_code_shapes(out).next(), None, "{what}: {out}");
}

#[test]
fn no_template_repeats_an_identity_code_given_as_an_argument() {
    let mut sources = SourceSet::new();
    let file = sources.add("malli.polku", "rooli th \"Terveydenhoitaja\"\n");
    let mut filled = 0;
    for &code in Code::ALL {
        let entry = code.entry();
        let mut names: Vec<&str> = [entry.en, entry.fi]
            .into_iter()
            .chain(entry.hint_en)
            .chain(entry.hint_fi)
            .flat_map(placeholders)
            .collect();
        names.sort_unstable();
        names.dedup();
        for form in FORMS {
            for value in [form.to_owned(), format!("asiakas {form}, kysy"), format!("x{form}")] {
                let mut diagnostic = Diagnostic::new(code, file, Span::new(0, 5));
                for name in &names {
                    diagnostic = diagnostic.arg(name, value.clone());
                }
                let diagnostic = diagnostic.did_you_mean(Some(&value));
                for lang in [Lang::Fi, Lang::En] {
                    let message = diagnostic.message(lang);
                    assert_clean(&message, entry.code);
                    if !placeholders(match lang {
                        Lang::Fi => entry.fi,
                        Lang::En => entry.en,
                    })
                    .is_empty()
                    {
                        // The placeholder was filled, and what was in it hidden.
                        assert!(message.contains('…'), "{}: {message}", entry.code);
                        filled += 1;
                    }
                    for hint in diagnostic.hint_texts(lang) {
                        assert_clean(&hint, entry.code);
                    }
                    let rendered = render(std::slice::from_ref(&diagnostic), &sources, lang);
                    assert_clean(&rendered, entry.code);
                    let json = serde_json::to_string(&to_json(
                        std::slice::from_ref(&diagnostic),
                        &sources,
                        lang,
                    ))
                    .unwrap();
                    assert_clean(&json, entry.code);
                }
            }
        }
    }
    assert!(filled > 1000, "only {filled} messages had a placeholder");
}

#[test]
fn only_the_shape_of_a_code_is_hidden() {
    let mut sources = SourceSet::new();
    let file = sources.add("m.polku", "x\n");
    // Six digits alone are no code; two arguments apart do not make one.
    let d = Diagnostic::new(Code::UnknownAttribute, file, Span::new(0, 1))
        .arg("found", "131052")
        .arg("keyword", "-308T");
    assert_eq!(d.message(Lang::En), "unknown attribute `131052` for `-308T`");
    let glued =
        Diagnostic::new(Code::UnexpectedChar, file, Span::new(0, 1)).arg("found", "a131052-308Tb");
    assert_eq!(glued.message(Lang::Fi), "odottamaton merkki `a…b`");
}

#[test]
fn the_source_excerpt_is_masked_and_keeps_its_columns() {
    let mut sources = SourceSet::new();
    let text = "rooli th \"Hetu 131052-308T\" xyz\n";
    let file = sources.add("m.polku", text);
    let at = text.find("xyz").unwrap();
    let d = Diagnostic::new(Code::UnexpectedWord, file, Span::new(at, at + 3))
        .arg("keyword", "rooli")
        .arg("found", "xyz");
    let rendered = render(&[d], &sources, Lang::En);
    assert_clean(&rendered, "excerpt");
    let lines: Vec<&str> = rendered.lines().collect();
    let source = lines.iter().find(|l| l.contains("rooli th")).unwrap();
    let underline = lines.iter().find(|l| l.contains("^^^")).unwrap();
    // The underline still sits under `xyz`.
    let column = |line: &str, needle: &str| line[..line.find(needle).unwrap()].chars().count();
    assert_eq!(column(source, "xyz"), column(underline, "^^^"), "{rendered}");
    assert!(source.contains("•••••••••••"), "{rendered}");
}
