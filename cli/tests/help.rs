//! Every command's help, in both languages: the command tree is read from the English help
//! itself (each "Commands:" list, down to the last level), so that a command added later is
//! covered without touching this test. For each command and subcommand, `--help` and `-h`
//! under `--lang fi`, `--lang en` and a Finnish locale exit 0 with the help on standard
//! output; the Finnish help is in Finnish and lists the same subcommands as the English one.

#![allow(clippy::unwrap_used)] // A test that cannot set up should fail loudly.

mod common;

use std::process::{Command, Output};

use common::{finish, scratch};

/// The binary run in an empty folder (no model is needed for help), with `lang` as the
/// locale and no other locale variable.
fn polku(args: &[&str], locale: &str) -> Output {
    let dir = scratch("polku-help", "run");
    let mut command = Command::new(env!("CARGO_BIN_EXE_polku"));
    command
        .args(args)
        .current_dir(&dir)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", locale);
    finish(command, &format!("polku {args:?} (LANG={locale})"))
}

/// The subcommands a help text lists under `heading` ("Commands:" or "Komennot:"): the first
/// word of each indented line up to the blank line that ends the list. clap's own `help`
/// subcommand is left out.
fn subcommands(help: &str, heading: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim_end() != heading)
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.trim_start().starts_with('-'))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path under the root, found through the English help, the root first.
fn command_tree() -> Vec<Vec<String>> {
    let mut found = vec![Vec::new()];
    let mut i = 0;
    while i < found.len() {
        let path = found[i].clone();
        let mut args = vec!["--lang", "en"];
        args.extend(path.iter().map(String::as_str));
        args.push("--help");
        let output = polku(&args, "C.UTF-8");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", text(&output.stderr));
        for name in subcommands(&text(&output.stdout), "Commands:") {
            let mut child = path.clone();
            child.push(name);
            found.push(child);
        }
        i += 1;
    }
    found
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_command_and_subcommand_prints_its_help_in_both_languages() {
    let tree = command_tree();
    // The walk must have found the tree, not stopped at a heading it could not read.
    for expected in [
        &["check"][..],
        &["report", "segments"],
        &["report", "transitions"],
        &["report", "completion"],
        &["store", "verify"],
        &["store", "access-log"],
        &["token", "create"],
        &["export", "pnml"],
    ] {
        assert!(
            tree.iter().any(|path| path == expected),
            "{expected:?} not found in the help: {tree:?}"
        );
    }
    let mut failures = Vec::new();
    for path in &tree {
        let words: Vec<&str> = path.iter().map(String::as_str).collect();
        let mut english_first_line = String::new();
        let mut english_commands = Vec::new();
        for (flags, locale) in [
            (&["--lang", "en"][..], "C.UTF-8"),
            (&["--lang", "en"][..], "fi_FI.UTF-8"),
            (&["--lang", "fi"][..], "C.UTF-8"),
            (&[][..], "fi_FI.UTF-8"),
        ] {
            let finnish = flags.contains(&"fi") || flags.is_empty();
            for help in ["--help", "-h"] {
                let mut args: Vec<&str> = flags.to_vec();
                args.extend(&words);
                args.push(help);
                let output = polku(&args, locale);
                let (out, err) = (text(&output.stdout), text(&output.stderr));
                let what = format!("polku {} (LANG={locale})", args.join(" "));
                if output.status.code() != Some(0) || out.trim().is_empty() || !err.is_empty() {
                    failures.push(format!(
                        "{what}: exit {:?}, {} bytes of help, stderr: {err}",
                        output.status.code(),
                        out.len()
                    ));
                    continue;
                }
                let first_line = out.lines().next().unwrap_or_default().to_owned();
                if !finnish {
                    if !out.contains("Usage:") {
                        failures.push(format!("{what}: no usage line:\n{out}"));
                    }
                    if help == "--help" {
                        english_first_line = first_line;
                        english_commands = subcommands(&out, "Commands:");
                    }
                    continue;
                }
                // The Finnish help is in Finnish, down to its headings and help flags.
                for english in ["Usage:", "Options:", "Commands:", "Arguments:", "Print help"] {
                    if out.contains(english) {
                        failures.push(format!("{what}: `{english}` in the Finnish help:\n{out}"));
                    }
                }
                if !out.contains("Käyttö:") || !out.contains("Näytä") {
                    failures.push(format!("{what}: not the Finnish help:\n{out}"));
                }
                if first_line == english_first_line {
                    failures.push(format!("{what}: the description is not translated:\n{out}"));
                }
                let listed = subcommands(&out, "Komennot:");
                if listed != english_commands {
                    failures.push(format!(
                        "{what}: lists the subcommands {listed:?}, the English help {english_commands:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n\n{}", failures.len(), failures.join("\n\n"));
}
