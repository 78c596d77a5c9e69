//! `polku render` and `polku serve`: the process maps, as files or in the browser.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use polku_dsl::Lang;
use polku_viewer::maps::{self, Drawing, MapKind};

use crate::{checked_model, say};

#[derive(Debug, Clone, Copy, clap::ValueEnum, Default, PartialEq, Eq)]
pub enum RenderFormat {
    #[default]
    Svg,
    Dot,
}

/// The map `polku render` is asked for.
#[derive(Debug)]
pub struct Which {
    pub level: u8,
    pub process: Option<String>,
    pub segment: Option<String>,
    pub segmentation: Option<String>,
    pub workflow: Option<String>,
}

fn one_of<'a>(what: &str, names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    format!("{what}: {}", names.join(", "))
}

fn kind(model: &polku_engine::Model, which: Which, lang: Lang) -> Result<MapKind> {
    Ok(match which.level {
        1 => MapKind::Services,
        2 => {
            let from_process = which
                .process
                .as_ref()
                .and_then(|p| model.processes.get(p))
                .and_then(|p| p.segmentation.clone());
            let only = (model.segmentations.len() == 1)
                .then(|| model.segmentations.keys().next().cloned())
                .flatten();
            match which.segmentation.or(from_process).or(only) {
                Some(s) => MapKind::Segmentation(s),
                None => bail!(
                    "{} ({})",
                    say(
                        lang,
                        "level 2 needs --segmentation",
                        "taso 2 tarvitsee valinnan --segmentation"
                    ),
                    one_of(say(lang, "the model has", "mallissa on"), model.segmentations.keys())
                ),
            }
        }
        3 => match which.process {
            Some(process) => MapKind::Process { process, segment: which.segment },
            None => bail!(
                "{} ({})",
                say(lang, "level 3 needs --process", "taso 3 tarvitsee valinnan --process"),
                one_of(say(lang, "the model has", "mallissa on"), model.processes.keys())
            ),
        },
        _ => match which.workflow {
            Some(workflow) => MapKind::Workflow(workflow),
            None => bail!(
                "{} ({})",
                say(lang, "level 4 needs --workflow", "taso 4 tarvitsee valinnan --workflow"),
                one_of(say(lang, "the model has", "mallissa on"), model.workflows.keys())
            ),
        },
    })
}

pub fn render(
    dir: Option<&Path>,
    which: Which,
    format: RenderFormat,
    out: Option<&Path>,
    lang: Lang,
) -> Result<ExitCode> {
    let Some(checked) = checked_model(dir, lang, false)? else {
        return Ok(ExitCode::from(1));
    };
    let model = polku_engine::compile(&checked.files);
    let kind = kind(&model, which, lang)?;
    let drawing = match maps::draw(&model, &kind, lang) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{}: {e}", say(lang, "not found", "ei löydy"));
            return Ok(ExitCode::from(1));
        }
    };
    let text = match (drawing, format) {
        (Drawing::Dot(dot), RenderFormat::Dot) => dot,
        (Drawing::Dot(dot), RenderFormat::Svg) => match polku_viewer::render::dot_to_svg(&dot) {
            Ok(svg) => svg,
            Err(polku_viewer::render::RenderError::Missing) => bail!(
                "{}",
                say(
                    lang,
                    "SVG of levels 1-3 needs Graphviz's `dot`, which is not on the path: install Graphviz, or write DOT with --format dot and lay it out elsewhere",
                    "tasojen 1-3 SVG tarvitsee Graphvizin `dot`-ohjelman, jota ei löydy: asenna Graphviz tai kirjoita DOT valinnalla --format dot"
                )
            ),
            Err(e) => bail!("{e}"),
        },
        (Drawing::Svg(svg), RenderFormat::Svg) => svg,
        (Drawing::Svg(_), RenderFormat::Dot) => bail!(
            "{}",
            say(
                lang,
                "level 4 is drawn as SVG directly: use --format svg",
                "taso 4 piirretään suoraan SVG:ksi: käytä valintaa --format svg"
            )
        ),
    };
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| {
            format!("{} {}", say(lang, "cannot write", "ei voi kirjoittaa:"), path.display())
        })?,
        None => crate::write_stdout(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `polku serve`'s options.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: crate::track::StoreArgs,
    /// The address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Re-check the model whenever a file changes and redraw the maps; while it does not
    /// check, the pages show its problems.
    #[arg(long)]
    pub watch: bool,
    /// Fill an empty database with a simulated year of the model first, so that the overlay
    /// shows where open cases stand.
    #[arg(long)]
    pub demo: bool,
    /// Children simulated by --demo (a year of Keski-Uusimaa is 43,000). Implies --demo.
    #[arg(long)]
    pub demo_clients: Option<u32>,
    /// Where maps are laid out: on the server with Graphviz's dot, in the browser with the
    /// WebAssembly build the server ships, or auto (dot when it is on the path).
    #[arg(long, value_enum, default_value_t)]
    pub renderer: RendererArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum, Default, PartialEq, Eq)]
pub enum RendererArg {
    #[default]
    Auto,
    Server,
    Browser,
}

/// A value that changes when any `.polku` file or `polku.toml` under `dir` changes.
fn fingerprint(dir: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut entries = Vec::new();
    while let Some(folder) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&folder) else { continue };
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "polku")
                || path.file_name().is_some_and(|n| n == polku_store::project::CONFIG_FILE)
            {
                entries.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    entries.sort();
    entries.hash(&mut hasher);
    hasher.finish()
}

/// The model at `dir` checked anew: a clean version, or its problems as `polku check` prints
/// them in both languages.
fn reload(dir: Option<&Path>) -> polku_viewer::server::Reload {
    let (_, loaded) = match polku_store::project::load_one(dir) {
        Ok(found) => found,
        Err(e) => return Err(polku_dsl::Bilingual::new(e.say(Lang::En), e.say(Lang::Fi))),
    };
    let check = polku_store::project::check_model(&loaded);
    let errors: Vec<polku_dsl::Diagnostic> =
        check.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if !errors.is_empty() || check.validation.is_none() {
        return Err(polku_viewer::server::Problems {
            fi: polku_dsl::diagnostic::render(&errors, &loaded.sources, Lang::Fi),
            en: polku_dsl::diagnostic::render(&errors, &loaded.sources, Lang::En),
        });
    }
    let sources = polku_store::tracker::ModelSources::new(
        loaded
            .sources
            .ids()
            .map(|id| {
                let file = loaded.sources.get(id);
                (file.path.clone(), file.text.clone())
            })
            .collect(),
    );
    Ok(polku_viewer::server::ModelVersion {
        version: sources.hash(),
        name: loaded.name.clone(),
        model: polku_engine::compile(&check.files),
    })
}

pub fn serve(args: ServeArgs, lang: Lang) -> Result<ExitCode> {
    use polku_viewer::server::{self, AppState, ModelVersion, Renderer};
    let Some((mut tracker, key, model, hash)) =
        crate::track::open_with_model(&args.store, crate::track::Use::Execute, lang)?
    else {
        return Ok(ExitCode::from(1));
    };
    let demo = args.demo || args.demo_clients.is_some();
    if demo && tracker.projection.events == 0 {
        let clients = args.demo_clients.unwrap_or(43_000);
        eprintln!(
            "{} ({clients} {})…",
            say(
                lang,
                "filling the database with a simulated year",
                "täytetään tietokanta simuloidulla vuodella"
            ),
            say(lang, "children", "lasta")
        );
        let stored = crate::track::fill_demo(&mut tracker, &key, &model, clients)?;
        eprintln!("{stored} {}", say(lang, "events stored", "tapahtumaa tallennettu"));
    }
    let renderer = match args.renderer {
        RendererArg::Auto => Renderer::detect(),
        RendererArg::Server => Renderer::Server,
        RendererArg::Browser => Renderer::Browser,
    };
    let root = match &args.store.model {
        Some(dir) => dir.clone(),
        None => polku_store::project::find_root(Path::new("."))
            .ok_or(polku_store::project::ProjectError::NoRoot)?,
    };
    let name = polku_store::project::read_config(&root).ok().and_then(|c| c.model.name);
    let version = ModelVersion { version: hash, name, model };
    let units: Vec<String> = version.model.services.keys().cloned().collect();
    let service = polku_store::TrackerService::new(tracker);
    if demo {
        // Sign-in for the demo: one token per role, shown on the terminal only.
        use polku_viewer::server::auth::{Principal, Role};
        eprintln!(
            "{}",
            say(
                lang,
                "demo sign-in tokens (Authorization: Bearer TOKEN):",
                "esittelyn kirjautumistunnisteet (Authorization: Bearer TUNNISTE):"
            )
        );
        for (role, name) in [
            (Role::Staff, "demo-terveydenhoitaja"),
            (Role::System, "demo-potilastietojarjestelma"),
            (Role::ProcessOwner, "demo-prosessinomistaja"),
            (Role::Auditor, "demo-tarkastaja"),
        ] {
            let units =
                if matches!(role, Role::Staff | Role::System) { units.clone() } else { Vec::new() };
            let principal = Principal { name: name.to_owned(), role, units };
            let token = polku_viewer::server::api::create_token(&service, &principal)?;
            eprintln!("  {:<14} {token}", role.as_str());
        }
    }
    let mut api = polku_viewer::server::api::Api::new(service);
    let config = match polku_store::project::read_config(&root) {
        Ok(config) => Some(config),
        // A model folder named with --model may have no polku.toml; any other problem with it
        // is the operator's to fix, not to be passed over.
        Err(polku_store::project::ProjectError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            None
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(config) = config {
        api = api.with_kept_answers(config.privacy.keep_answers_days);
        if let Some(oidc) = config.oidc {
            api = api.with_oidc(identity_provider(&root, oidc)?);
        }
    }
    let state = AppState::with_api(version, renderer, api, demo);
    let watch = args.watch.then(|| {
        let (a, b) = (root.clone(), root.clone());
        server::Watch {
            fingerprint: Box::new(move || fingerprint(&a)),
            reload: std::sync::Arc::new(move || reload(Some(&b))),
            on_reload: Box::new(move |result| match result {
                Ok(_) => eprintln!(
                    "{}",
                    say(
                        lang,
                        "model checked: maps redrawn",
                        "malli tarkistettu: kartat piirretty uudelleen"
                    )
                ),
                Err(p) => eprint!(
                    "{}\n{}",
                    say(
                        lang,
                        "the model has errors: the pages show them",
                        "mallissa on virheitä: sivut näyttävät ne"
                    ),
                    match lang {
                        Lang::Fi => &p.fi,
                        Lang::En => &p.en,
                    }
                ),
            }),
            interval: std::time::Duration::from_millis(700),
        }
    });
    // From here on requests carry client data: what they leave behind is overwritten.
    polku_viewer::wipe::enable();
    // Kept answers that have expired are deleted now and every ten minutes.
    let sweeper = state.api().map(|api| api.tracker.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context(say(
            lang,
            "cannot start the server's runtime",
            "palvelimen ajoympäristöä ei voi käynnistää",
        ))?;
    let renderer_text = match renderer {
        Renderer::Server => say(
            lang,
            "maps laid out by Graphviz on the server",
            "kartat piirtää palvelimen Graphviz",
        ),
        Renderer::Browser => say(
            lang,
            "maps laid out in the browser (Graphviz not found)",
            "kartat piirretään selaimessa (Graphvizia ei löytynyt)",
        ),
    };
    if let Some(tracker) = sweeper.clone() {
        // Other servers on the same database: their writes are applied here within
        // FOLLOW_EVERY (and the time to apply them).
        // A failure is said once, and again only when it changes or half a minute has
        // passed (the database away answers every follow the same), and so is the end of it.
        std::thread::spawn(move || {
            let mut said: Option<(String, std::time::Instant)> = None;
            loop {
                std::thread::sleep(polku_store::service::FOLLOW_EVERY);
                match tracker.catch_up() {
                    Err(e) => {
                        let text = e.to_string();
                        let again = said.as_ref().is_some_and(|(last, at)| {
                            *last == text && at.elapsed() < std::time::Duration::from_secs(30)
                        });
                        if !again {
                            eprintln!(
                                "{}: {text}",
                                say(lang, "following the database", "tietokannan seuraaminen")
                            );
                            said = Some((text, std::time::Instant::now()));
                        }
                    }
                    Ok(_) if said.take().is_some() => eprintln!(
                        "{}",
                        say(lang, "following the database again", "tietokantaa seurataan taas")
                    ),
                    Ok(_) => {}
                }
            }
        });
    }
    if let Some(tracker) = sweeper {
        runtime.spawn(async move {
            loop {
                let t = tracker.clone();
                let at = crate::track::now();
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || t.forget_answers(at)).await
                {
                    eprintln!("{}: {e}", say(lang, "expired answers", "vanhentuneet vastaukset"));
                }
                tokio::time::sleep(std::time::Duration::from_secs(600)).await;
            }
        });
    }
    runtime
        .block_on(server::serve(
            state,
            args.listen,
            |address| {
                println!(
                    "{} http://{address}/",
                    say(
                        lang,
                        "Polku serves the process maps at",
                        "Polku näyttää prosessikartat osoitteessa"
                    )
                );
                eprintln!("{renderer_text}; {}", say(lang, "Ctrl-C stops", "Ctrl-C lopettaa"));
                let _ = std::io::Write::flush(&mut std::io::stdout());
            },
            watch,
        ))
        .with_context(|| {
            format!(
                "{} {}",
                say(lang, "cannot serve on", "ei voi palvella osoitteessa"),
                args.listen
            )
        })?;
    Ok(ExitCode::SUCCESS)
}

/// `polku token create`: a bearer token for a system or a person, shown once.
pub fn create_token(
    store: &crate::track::StoreArgs,
    role: &str,
    units: &[String],
    name: Option<&str>,
    lang: Lang,
) -> Result<ExitCode> {
    use polku_viewer::server::auth::{Principal, Role};
    let Some(role) = Role::parse(role) else {
        bail!(
            "{} `{role}`: staff, process_owner, viewer, auditor, system",
            say(lang, "unknown role", "tuntematon rooli")
        );
    };
    let Some((tracker, _, model, _)) =
        crate::track::open_with_model(store, crate::track::Use::Write, lang)?
    else {
        return Ok(ExitCode::from(1));
    };
    for unit in units {
        if !model.services.contains_key(unit) {
            bail!("{} `{unit}`", say(lang, "the model has no unit", "mallissa ei ole yksikköä"));
        }
    }
    let name = name.map(str::to_owned).unwrap_or_else(|| format!("{}-token", role.as_str()));
    let principal = Principal { name, role, units: units.to_vec() };
    let service = polku_store::TrackerService::new(tracker);
    let token = polku_viewer::server::api::create_token(&service, &principal)?;
    outln!("{token}");
    eprintln!(
        "{}",
        say(
            lang,
            "the token is shown only now; the database keeps only its hash",
            "tunniste näytetään vain nyt; tietokanta säilyttää vain sen tiivisteen"
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// The identity provider of `[oidc]`, with its keys, and this server as its client when the
/// staff page signs in through it.
fn identity_provider(
    root: &Path,
    oidc: polku_store::project::OidcSection,
) -> anyhow::Result<polku_viewer::server::oidc::Oidc> {
    use polku_viewer::server::oidc::{JwksSource, Oidc, OidcConfig, SignInConfig};
    let jwks = match &oidc.jwks {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            JwksSource::Url(url.clone())
        }
        Some(file) => JwksSource::File(root.join(file)),
        None => JwksSource::Discovered,
    };
    let audience = oidc.audience.clone().or_else(|| oidc.client_id.clone()).context(
        "[oidc] in polku.toml needs audience (the API's) or client_id (the staff page's)",
    )?;
    let sign_in = match (oidc.client_id, oidc.redirect_uri) {
        (Some(client_id), Some(redirect_uri)) => {
            let client_secret =
                match (&oidc.client_secret_file, std::env::var("POLKU_OIDC_CLIENT_SECRET")) {
                    (Some(file), _) => {
                        let path = root.join(file);
                        let text = std::fs::read_to_string(&path).with_context(|| {
                            format!("[oidc] client_secret_file {}", path.display())
                        })?;
                        Some(text.trim().to_owned())
                    }
                    (None, Ok(secret)) if !secret.trim().is_empty() => {
                        Some(secret.trim().to_owned())
                    }
                    _ => None,
                };
            Some(SignInConfig {
                client_id,
                client_secret,
                redirect_uri,
                authorization_endpoint: oidc.authorization_endpoint,
                token_endpoint: oidc.token_endpoint,
            })
        }
        (Some(_), None) => anyhow::bail!(
            "[oidc] in polku.toml: client_id needs redirect_uri, this server's address as the \
             identity provider knows it (https://…/staff/oidc/callback)"
        ),
        (None, _) => None,
    };
    Ok(Oidc::new(OidcConfig { issuer: oidc.issuer, audience, jwks, sign_in }))
}
