//! `polku`: checks and formats process models written in the Polku language.

/// `println!` that reports a failed write (a reader that went away) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?;
    }};
}

/// `print!` that reports a failed write instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)?;
    }};
}

/// Freed memory is overwritten once `polku serve` switches it on (see [`polku_viewer::wipe`]).
#[global_allocator]
static ALLOCATOR: polku_viewer::wipe::Wiping = polku_viewer::wipe::Wiping;

mod assess;
mod daily;
mod diff;
mod explain;
mod help;
mod input;
mod maps;
mod migrate;
mod plan;
mod track;
mod verify;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use polku_dsl::{diagnostic, Lang, SourceSet};
use polku_store::project::{self as model, check_model, display, load, CheckedModel, ModelCheck};

#[derive(Debug, Parser)]
#[command(
    name = "polku",
    version,
    about = "Process models for family-centre services: check, format and run them"
)]
struct Cli {
    /// Language of messages: fi or en. Default: Finnish for fi_* locales, otherwise English.
    #[arg(long, global = true, value_enum)]
    lang: Option<LangArg>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LangArg {
    Fi,
    En,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
enum Format {
    /// Messages for a person, with the source line underlined.
    #[default]
    Human,
    /// One JSON array of diagnostics for tools.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check models: report every syntax and naming problem.
    ///
    /// Exits 0 when there are no errors (warnings allowed), 1 when there are errors,
    /// 2 on a usage or internal error.
    Check {
        /// Files or folders. A folder with a polku.toml is one model.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Show what changed between two versions of a model, in a process owner's words.
    ///
    /// OLD and NEW are each a model's folder, a git revision written REV:PATH (such as
    /// HEAD~1:processes/keusote, read with git from the working folder's repository) or a
    /// version the database keeps: @N by its number, @HASH by the start of its hash. Exits 0
    /// when the versions do not differ, 1 when they do, 2 when one cannot be read or has errors.
    Diff {
        /// The older version.
        old: String,
        /// The newer version.
        new: String,
        /// The database of the stored versions (@N): sqlite://PATH (or just PATH) or
        /// postgres://…. Default: [database] url in the polku.toml of the model at or above
        /// the working folder, else sqlite://data/polku.sqlite.
        #[arg(long, value_parser = track::database_arg)]
        database: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: diff::DiffFormat,
    },
    /// Show a process's planned service per segment.
    ///
    /// With --segment, the plan of that segment; without, every segment side by side, marking
    /// what each adds (+), changes (*) or leaves out (–).
    Plan {
        /// The process's name.
        process: String,
        /// The segment's name.
        #[arg(long)]
        segment: Option<String>,
        /// The model's folder (the one with polku.toml). Default: the model at or above the
        /// working folder.
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: PlanFormat,
    },
    /// Score a filled-in assessment form and propose a segment.
    ///
    /// The answers are a JSON object of question names and answers (a number for a scale,
    /// true or false, an option, or a list of options), as the form was filled in on paper or
    /// in another system. Prints each axis's value, the answers that drove it, and the segment.
    Assess {
        /// The form's name.
        form: String,
        /// The answers: a JSON file; - for standard input.
        #[arg(long)]
        answers: PathBuf,
        /// The model's folder (the one with polku.toml). Default: the model at or above the
        /// working folder.
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: PlanFormat,
    },
    /// Export the model's flows for other tools.
    Export {
        #[command(subcommand)]
        what: Export,
    },
    /// Store events (JSON Lines) in the database: bad lines are reported by number, good ones
    /// kept. A repeated event id is acknowledged and not applied twice.
    Ingest {
        /// The event file; - for standard input.
        file: PathBuf,
        #[command(flatten)]
        store: track::StoreArgs,
        /// Events per batch handed to the writer; batches waiting together share a commit.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// human: a summary (and a progress bar on a terminal); json: one line per
        /// acknowledgement, then a summary.
        #[arg(long, value_enum, default_value_t)]
        format: track::OutFormat,
    },
    /// A client's cases: segment, phase, each planned step's state and deadline, what is
    /// missing. CLIENT is a personal identity code or a pseudonym; the access is logged.
    Status {
        client: String,
        #[command(flatten)]
        store: track::StoreArgs,
        /// Judge deadlines on this date instead of today.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: track::OutFormat,
    },
    /// Reports over all cases: segments, transitions, completion.
    Report {
        #[command(subcommand)]
        kind: track::ReportKind,
        #[command(flatten)]
        store: track::StoreArgs,
        /// Output format: human or json.
        #[arg(long, value_enum, default_value_t, global = true)]
        format: track::OutFormat,
    },
    /// Generate a realistic synthetic event stream by playing the model forward.
    Simulate {
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, default_value_t = 1000)]
        clients: u32,
        #[arg(long, default_value_t = 365)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The first day.
        #[arg(long, default_value = "2026-01-01")]
        start: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The segment each client's markers propose on a day, from an extract of the record
    /// systems.
    ///
    /// The extract is CSV (client,date,system,code) or JSON Lines with those fields; a client is a
    /// personal identity code or a pseudonym. Bad rows are reported by line and skipped. The
    /// proposals are stored by day: a day run again changes nothing, and days may be run in
    /// any order. Prints how the clients of the extract fall into the segments on that day,
    /// and who moved since the previous run day.
    SegmentDaily {
        /// The extract; - for standard input.
        extract: PathBuf,
        /// The day (YYYY-MM-DD).
        #[arg(long)]
        date: String,
        /// An earlier day: also the clients whose proposed segment moved between the two.
        #[arg(long)]
        from: Option<String>,
        /// The marker rules' name (needed when the model has several).
        #[arg(long)]
        markers: Option<String>,
        /// Compute and print the proposals without storing them.
        #[arg(long)]
        dry_run: bool,
        /// Store the good rows' proposals although some rows were refused (by default a run
        /// with refused rows stores nothing).
        #[arg(long)]
        allow_refused: bool,
        #[arg(long, value_enum, default_value_t)]
        format: PlanFormat,
        #[command(flatten)]
        store: track::StoreArgs,
    },
    /// Why a client's service was planned as it was on a date.
    ///
    /// For each case the client had then: the model version it ran under, the segment and who
    /// decided it, and for each step (or the one --step names) whether it was planned, whether
    /// the generic process has it, what the segment's content did to it and which condition on
    /// the case's facts held. The access is logged.
    Explain {
        /// The client: a personal identity code or a pseudonym.
        client: String,
        /// The day (YYYY-MM-DD); as the day ended.
        #[arg(long)]
        date: String,
        /// Only this step.
        #[arg(long)]
        step: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: PlanFormat,
        #[command(flatten)]
        store: track::StoreArgs,
    },
    /// Move open cases to another model version; --dry-run shows what would happen.
    ///
    /// Without --to, to the model loaded now. Per process, segment and version left: how many
    /// open cases move and which planned steps they gain or lose; cases whose position no
    /// longer exists there stay, with the reason. Each move is stored as an event in the
    /// case's history; moving back is a migration to the version left.
    Migrate {
        /// The version: @N (its number in the store) or six or more characters of its hash.
        #[arg(long)]
        to: Option<String>,
        /// Show what would move without moving anything.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t)]
        format: PlanFormat,
        #[command(flatten)]
        store: track::StoreArgs,
    },
    /// The database: facts, snapshot, access log, tamper check.
    Store {
        #[command(subcommand)]
        command: track::StoreCommand,
        #[command(flatten)]
        store: track::StoreArgs,
    },
    /// Draw a map of the model: level 1 (services and chains), 2 (a segmentation), 3 (a
    /// process, optionally as one segment's plan) or 4 (a workflow's swimlanes).
    ///
    /// DOT for levels 1-3; SVG for every level (levels 1-3 need Graphviz's dot for SVG).
    Render {
        /// The model's folder. Default: the model at or above the working folder.
        #[arg(long)]
        model: Option<PathBuf>,
        /// 1, 2, 3 or 4.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
        level: u8,
        /// Level 3: the process.
        #[arg(long)]
        process: Option<String>,
        /// Level 3: the segment whose plan to draw.
        #[arg(long)]
        segment: Option<String>,
        /// Level 2: the segmentation. Default: the one of the process given, or the model's
        /// only one.
        #[arg(long)]
        segmentation: Option<String>,
        /// Level 4: the workflow (process.phase or process.phase.step).
        #[arg(long)]
        workflow: Option<String>,
        #[arg(long, value_enum, default_value_t)]
        format: maps::RenderFormat,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// API tokens for systems and people.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        #[command(flatten)]
        store: track::StoreArgs,
    },
    /// Serve the process maps in the browser, with a live overlay of open cases.
    ///
    /// Checks the model first and refuses to start on errors.
    Serve(maps::ServeArgs),
    /// Rewrite files in the canonical layout, keeping every comment.
    Fmt {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Change nothing: exit 1 and name the files that would change.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once; the database keeps only its SHA-256.
    Create {
        /// staff, process_owner, viewer, auditor or system.
        #[arg(long)]
        role: String,
        /// A unit (service) whose clients the holder may see or record for; repeat for more.
        #[arg(long = "unit")]
        units: Vec<String>,
        /// Who holds it, for the access log.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
enum PlanFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
enum Export {
    /// Every process, phase and workflow flow as a PNML workflow net, with verdicts.json
    /// holding Polku's soundness verdict for each.
    Pnml {
        #[arg(long)]
        model: Option<PathBuf>,
        /// The folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// The language chosen by `--lang` (read before parsing, so that help and usage errors are in
/// it too) or else by the locale.
fn choose_language(args: &[String]) -> Lang {
    let mut flag = None;
    for (i, arg) in args.iter().enumerate() {
        match arg.as_str() {
            "--lang=fi" => flag = Some(Lang::Fi),
            "--lang=en" => flag = Some(Lang::En),
            "--lang" => match args.get(i + 1).map(String::as_str) {
                Some("fi") => flag = Some(Lang::Fi),
                Some("en") => flag = Some(Lang::En),
                _ => {}
            },
            _ => {}
        }
    }
    flag.unwrap_or_else(|| {
        Lang::from_locale(
            ["LC_ALL", "LC_MESSAGES", "LANG"]
                .map(|name| std::env::var(name).ok())
                .iter()
                .map(|v| v.as_deref()),
        )
    })
}

fn main() -> ExitCode {
    polku_viewer::wipe::settle();
    let args: Vec<String> = std::env::args().collect();
    let lang = choose_language(&args);
    let command = match lang {
        Lang::En => Cli::command(),
        Lang::Fi => help::finnish(Cli::command()),
    };
    let cli = match command.try_get_matches_from(&args).and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        // Help and the version go out as they are; an error quotes what was typed, with any
        // identity code in it replaced.
        Err(error) if error.use_stderr() => {
            let mut text = error.render().to_string();
            if lang == Lang::Fi {
                text = help::finnish_error(&text);
            }
            eprint!("{}", polku_engine::pseudonym::redact_identity_codes(&text));
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
        Err(error) => error.exit(),
    };
    match run(cli.command, lang) {
        Ok(code) => code,
        // The reader of our output went away (`polku plan … | head`): end quietly, as the
        // command's work is done as far as anyone is listening.
        Err(error)
            if error.chain().any(|e| {
                let pipe = std::io::ErrorKind::BrokenPipe;
                e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == pipe)
                    || e.downcast_ref::<serde_json::Error>()
                        .is_some_and(|e| e.io_error_kind() == Some(pipe))
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            let word = say(lang, "error", "virhe");
            // Messages quote what was typed (a date, a step, a version): never an identity
            // code typed there by mistake.
            complain(&format!("{word}: {}", describe(&error, lang)));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes as `{:#}` writes them (`context: cause: …`), each of the
/// libraries' errors in `lang`: it ends the chain, since its message already says its cause.
fn describe(error: &anyhow::Error, lang: Lang) -> String {
    use polku_store::project::{io_text, ProjectError};
    use polku_store::tracker::TrackerError;
    use polku_store::StoreError;
    let mut parts = Vec::new();
    for cause in error.chain() {
        let said = if let Some(e) = cause.downcast_ref::<TrackerError>() {
            e.say(lang)
        } else if let Some(e) = cause.downcast_ref::<StoreError>() {
            e.say(lang)
        } else if let Some(e) = cause.downcast_ref::<ProjectError>() {
            e.say(lang)
        } else if let Some(e) = cause.downcast_ref::<std::io::Error>() {
            io_text(e, lang)
        } else {
            parts.push(cause.to_string());
            continue;
        };
        parts.push(said);
        break;
    }
    parts.join(": ")
}

/// Prints `polku: MESSAGE` on standard error. A message quotes what was typed (a date, a step,
/// a version), so any identity code typed there by mistake is replaced by `…` first.
fn complain(message: &str) {
    eprintln!("polku: {}", polku_engine::pseudonym::redact_identity_codes(message));
}

fn say(lang: Lang, en: &'static str, fi: &'static str) -> &'static str {
    lang.pick(en, fi)
}

fn run(command: Command, lang: Lang) -> Result<ExitCode> {
    match command {
        Command::Check { paths, format } => check(&paths, format, lang),
        Command::Fmt { paths, check } => fmt(&paths, check, lang),
        Command::Diff { old, new, database, format } => {
            diff::run(&old, &new, database.as_deref(), format, lang)
        }
        Command::Plan { process, segment, model, format } => {
            plan::run(&process, segment.as_deref(), model.as_deref(), format, lang)
        }
        Command::Assess { form, answers, model, format } => {
            assess::run(&form, &answers, model.as_deref(), format, lang)
        }
        Command::Export { what: Export::Pnml { model, out } } => {
            export_pnml(model.as_deref(), &out, lang)
        }
        Command::Ingest { file, store, batch, format } => {
            track::ingest(&file, &store, batch, format, lang)
        }
        Command::Status { client, store, as_of, format } => {
            track::status(&client, &store, as_of.as_deref(), format, lang)
        }
        Command::Report { kind, store, format } => track::report(&kind, &store, format, lang),
        Command::Simulate { model, clients, days, seed, start, out } => {
            track::simulate(model.as_deref(), clients, days, seed, &start, out.as_deref(), lang)
        }
        Command::Store { command, store } => track::store(&command, &store, lang),
        Command::Explain { client, date, step, format, store } => explain::run(
            &client,
            &date,
            step.as_deref(),
            matches!(format, PlanFormat::Json),
            &store,
            lang,
        ),
        Command::Migrate { to, dry_run, format, store } => {
            migrate::run(to.as_deref(), dry_run, matches!(format, PlanFormat::Json), &store, lang)
        }
        Command::SegmentDaily {
            extract,
            date,
            from,
            markers,
            dry_run,
            allow_refused,
            format,
            store,
        } => {
            let options = daily::Options {
                extract: &extract,
                date: &date,
                from: from.as_deref(),
                markers: markers.as_deref(),
                dry_run,
                allow_refused,
            };
            daily::run(&options, &store, format, lang)
        }
        Command::Render { model, level, process, segment, segmentation, workflow, format, out } => {
            maps::render(
                model.as_deref(),
                maps::Which { level, process, segment, segmentation, workflow },
                format,
                out.as_deref(),
                lang,
            )
        }
        Command::Serve(args) => maps::serve(args, lang),
        Command::Token { command: TokenCommand::Create { role, units, name }, store } => {
            maps::create_token(&store, &role, &units, name.as_deref(), lang)
        }
    }
}

/// Writes to standard output; a reader that went away (`polku render … | head`) ends the
/// output quietly instead of failing.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

fn check(paths: &[PathBuf], format: Format, lang: Lang) -> Result<ExitCode> {
    let models = model::discover(paths)?;
    let mut errors = 0usize;
    let mut warnings = 0usize;
    let mut files = 0usize;
    let mut json = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for model in &models {
        let loaded = load(model)?;
        let ModelCheck { mut diagnostics, validation, .. } = check_model(&loaded);
        // Errors in files the user did not name keep the rules from running on the whole model;
        // that must not look like a clean check of the named files.
        let elsewhere: std::collections::BTreeSet<&str> = diagnostics
            .iter()
            .filter(|d| d.is_error() && !loaded.requested.contains(&d.file))
            .map(|d| loaded.sources.get(d.file).path.as_str())
            .collect();
        if validation.is_none() && !elsewhere.is_empty() {
            let files: Vec<&str> = elsewhere.into_iter().collect();
            eprintln!(
                "{} {}",
                say(
                    lang,
                    "the model has errors in other files, so its rules were not run:",
                    "mallin muissa tiedostoissa on virheitä, joten sen sääntöjä ei ajettu:"
                ),
                files.join(", ")
            );
            errors += 1;
        }
        // Report what lies in the files the user named; the rest of the model only helps resolve.
        diagnostics.retain(|d| loaded.requested.contains(&d.file));
        polku_dsl::sort(&mut diagnostics);
        files += loaded.requested.len();
        if let (Some(name), Format::Human) = (&loaded.name, format) {
            eprintln!("{}: {name}", say(lang, "model", "malli"));
        }
        errors += diagnostics.iter().filter(|d| d.is_error()).count();
        warnings += diagnostics.iter().filter(|d| !d.is_error()).count();
        match format {
            Format::Human => {
                write!(out, "{}", diagnostic::render(&diagnostics, &loaded.sources, lang))?
            }
            Format::Json => json.extend(diagnostic::to_json(&diagnostics, &loaded.sources, lang)),
        }
    }
    if let Format::Json = format {
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    }
    let summary = match lang {
        Lang::En => format!(
            "checked {files} file{}: {errors} error{}, {warnings} warning{}",
            plural_s(files),
            plural_s(errors),
            plural_s(warnings)
        ),
        Lang::Fi => format!(
            "tarkistettu {files} tiedosto{}: {errors} virhe{}, {warnings} varoitus{}",
            if files == 1 { "" } else { "a" },
            if errors == 1 { "" } else { "ttä" },
            if warnings == 1 { "" } else { "ta" },
        ),
    };
    eprintln!("{summary}");
    Ok(if errors > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The typed trees of a model that checks without errors, or its errors printed (`None`).
/// With `allow_rule_errors`, only the language's errors stop: the rules' findings are the
/// point of an export, for instance.
fn checked_model(
    dir: Option<&Path>,
    lang: Lang,
    allow_rule_errors: bool,
) -> Result<Option<CheckedModel>> {
    match model::checked_model(dir, allow_rule_errors)? {
        Ok(checked) => Ok(Some(checked)),
        Err(errors) => {
            out!("{}", errors.render(lang));
            eprintln!(
                "{}",
                say(
                    lang,
                    "the model has errors: fix them first (polku check)",
                    "mallissa on virheitä: korjaa ne ensin (polku check)"
                )
            );
            Ok(None)
        }
    }
}

fn export_pnml(dir: Option<&Path>, out: &Path, lang: Lang) -> Result<ExitCode> {
    let Some(CheckedModel { validation, .. }) = checked_model(dir, lang, true)? else {
        return Ok(ExitCode::from(1));
    };
    std::fs::create_dir_all(out)
        .map_err(|source| model::ProjectError::Write { path: out.to_path_buf(), source })?;
    let entries: Vec<polku_engine::pnml::Entry> =
        validation.nets.iter().map(|n| n.entry()).collect();
    for (file, content) in polku_engine::pnml::export(&entries) {
        write_atomically(&out.join(file), &content)?;
    }
    let verdicts = entries;
    eprintln!(
        "{} {} → {}",
        say(lang, "nets written:", "verkkoja kirjoitettu:"),
        verdicts.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn plural_s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn fmt(paths: &[PathBuf], check_only: bool, lang: Lang) -> Result<ExitCode> {
    let mut targets = Vec::new();
    for path in paths {
        if path.is_dir() {
            targets.extend(model::walk(path)?);
        } else if path.is_file() {
            targets.push(path.clone());
        } else {
            anyhow::bail!("{} does not exist", path.display());
        }
    }
    let mut failed = false;
    let mut changed = 0usize;
    for path in &targets {
        let bytes = std::fs::read(path)
            .map_err(|source| model::ProjectError::Read { path: path.clone(), source })?;
        let mut sources = SourceSet::new();
        let (id, problem) = polku_dsl::add_source_bytes(&mut sources, &display(path), bytes);
        if let Some(problem) = problem {
            out!("{}", diagnostic::render(&[problem], &sources, lang));
            failed = true;
            continue;
        }
        let text = &sources.get(id).text;
        let formatted = match polku_dsl::format_source(id, text) {
            Ok(formatted) => formatted,
            Err(diagnostics) => {
                out!("{}", diagnostic::render(&diagnostics, &sources, lang));
                failed = true;
                continue;
            }
        };
        if formatted == *text {
            continue;
        }
        changed += 1;
        if check_only {
            outln!("{}: {}", say(lang, "would reformat", "muotoiltaisiin"), display(path));
            failed = true;
            continue;
        }
        let before = polku_dsl::parse_file(id, text).ast;
        let after = polku_dsl::parse_file(id, &formatted).ast;
        anyhow::ensure!(
            polku_dsl::same_meaning(&before, &after),
            "formatting {} would change its meaning; the file was left as it was",
            path.display()
        );
        write_atomically(path, &formatted)?;
        outln!("{}: {}", say(lang, "formatted", "muotoiltu"), display(path));
    }
    if !check_only {
        eprintln!(
            "{} {changed}/{}",
            say(lang, "files reformatted:", "muotoiltuja tiedostoja:"),
            targets.len()
        );
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Writes through a temporary file and a rename, so a crash never leaves a half-written model.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.polku-fmt"));
    std::fs::write(&temporary, text)
        .map_err(|source| model::ProjectError::Write { path: temporary.clone(), source })?;
    std::fs::rename(&temporary, path)
        .map_err(|source| model::ProjectError::Write { path: path.to_path_buf(), source })?;
    Ok(())
}
