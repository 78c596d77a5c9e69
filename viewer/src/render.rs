//! Laying out DOT with Graphviz's `dot`, when it is on the path.
//!
//! The server and `polku render` both come here; when `dot` is missing, the server lets the
//! browser lay the DOT out with the WebAssembly build it ships, and `polku render` says so.

use std::io::Write;
use std::process::{Command, Stdio};

/// Why `dot` could not lay out a map.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("Graphviz's `dot` is not on the path")]
    Missing,
    #[error("`dot` failed: {0}")]
    Failed(String),
}

/// The program to run: `POLKU_DOT` if set, else `dot`.
pub fn dot_program() -> String {
    std::env::var("POLKU_DOT").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "dot".to_owned())
}

/// Is `dot` available?
pub fn dot_available() -> bool {
    Command::new(dot_program())
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Lays out DOT as SVG, ready to put inside an HTML page: without the XML prolog, the doctype
/// and Graphviz's comments.
pub fn dot_to_svg(dot: &str) -> Result<String, RenderError> {
    let mut child = Command::new(dot_program())
        .arg("-Tsvg")
        // Graphviz needs none of Polku's secrets.
        .env_remove("POLKU_PSEUDONYM_KEY")
        .env_remove("POLKU_DATABASE_PASSWORD")
        .env_remove("POLKU_OIDC_CLIENT_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RenderError::Missing,
            _ => RenderError::Failed(e.to_string()),
        })?;
    let mut stdin = child.stdin.take().ok_or_else(|| RenderError::Failed("no stdin".into()))?;
    let text = dot.to_owned();
    // Write from another thread so that a large drawing cannot deadlock on full pipes.
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().map_err(|e| RenderError::Failed(e.to_string()))?;
    writer
        .join()
        .map_err(|_| RenderError::Failed("writer thread".into()))?
        .map_err(|e| RenderError::Failed(e.to_string()))?;
    if !out.status.success() {
        return Err(RenderError::Failed(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(clean_svg(&String::from_utf8_lossy(&out.stdout)))
}

/// Drops what an inline SVG must not carry: the XML prolog, the doctype and comments.
pub fn clean_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    let mut out = String::with_capacity(svg.len());
    let mut rest = &svg[start..];
    while let Some(open) = rest.find("<!--") {
        out.push_str(&rest[..open]);
        match rest[open..].find("-->") {
            Some(close) => rest = &rest[open + close + 3..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_prolog_and_comments() {
        let svg = "<?xml version=\"1.0\"?>\n<!DOCTYPE svg>\n<!-- x -->\n<svg><!-- a --><g/></svg>";
        assert_eq!(clean_svg(svg), "<svg><g/></svg>");
    }
}
