//! A thin layer over graphviz-rust's DOT syntax tree: quoting, HTML-like labels and the house
//! look shared by levels 1–3.

pub use graphviz_rust::dot_structures::{Attribute, Graph, Id, Stmt};
use graphviz_rust::dot_structures::{Edge, EdgeTy, Node, NodeId, Subgraph, Vertex};
use graphviz_rust::printer::{DotPrinter, PrinterContext};

/// The font every map uses. Arial has metric-compatible free fonts (Liberation Sans) on the
/// server and known metrics in the WebAssembly build, so both layouts measure text alike.
pub const FONT: &str = "Arial";

/// A quoted DOT string.
pub fn quoted(text: &str) -> Id {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    Id::Escaped(out)
}

/// An HTML-like label; `markup` must already be escaped.
pub fn html(markup: &str) -> Id {
    Id::Html(format!("<{markup}>"))
}

pub fn attr(key: &str, value: Id) -> Attribute {
    Attribute(Id::Plain(key.to_owned()), value)
}

pub fn text_attr(key: &str, value: &str) -> Attribute {
    attr(key, quoted(value))
}

pub fn node(id: &str, attributes: Vec<Attribute>) -> Stmt {
    Stmt::Node(Node { id: NodeId(quoted(id), None), attributes })
}

pub fn edge(from: &str, to: &str, attributes: Vec<Attribute>) -> Stmt {
    Stmt::Edge(Edge {
        ty: EdgeTy::Pair(
            Vertex::N(NodeId(quoted(from), None)),
            Vertex::N(NodeId(quoted(to), None)),
        ),
        attributes,
    })
}

/// `graph [...]`, `node [...]` or `edge [...]` defaults.
pub fn defaults(kind: Defaults, attributes: Vec<Attribute>) -> Stmt {
    use graphviz_rust::dot_structures::GraphAttributes;
    Stmt::GAttribute(match kind {
        Defaults::Graph => GraphAttributes::Graph(attributes),
        Defaults::Node => GraphAttributes::Node(attributes),
        Defaults::Edge => GraphAttributes::Edge(attributes),
    })
}

#[derive(Debug, Clone, Copy)]
pub enum Defaults {
    Graph,
    Node,
    Edge,
}

pub fn cluster(id: &str, stmts: Vec<Stmt>) -> Stmt {
    Stmt::Subgraph(Subgraph { id: quoted(&format!("cluster_{id}")), stmts })
}

/// A directed graph with the house defaults; `rankdir` is `TB` or `LR`.
pub fn digraph(name: &str, rankdir: &str, mut stmts: Vec<Stmt>) -> Graph {
    let mut all = vec![
        defaults(
            Defaults::Graph,
            vec![
                text_attr("rankdir", rankdir),
                text_attr("fontname", FONT),
                text_attr("fontsize", "14"),
                text_attr("nodesep", "0.35"),
                text_attr("ranksep", "0.45"),
                text_attr("bgcolor", "white"),
                text_attr("compound", "true"),
            ],
        ),
        defaults(
            Defaults::Node,
            vec![
                text_attr("fontname", FONT),
                text_attr("fontsize", "12"),
                text_attr("shape", "box"),
                text_attr("style", "rounded,filled"),
                text_attr("fillcolor", "white"),
                text_attr("color", "#4a4a4a"),
                text_attr("margin", "0.12,0.06"),
            ],
        ),
        defaults(
            Defaults::Edge,
            vec![
                text_attr("fontname", FONT),
                text_attr("fontsize", "11"),
                text_attr("color", "#555555"),
                text_attr("arrowsize", "0.7"),
            ],
        ),
    ];
    all.append(&mut stmts);
    Graph::DiGraph { id: quoted(name), strict: false, stmts: all }
}

/// Prints a graph as DOT text.
pub fn print(graph: &Graph) -> String {
    let mut context = PrinterContext::default();
    let mut text = graph.print(&mut context);
    text.push('\n');
    text
}

/// Lines of a label, each escaped, joined by `<BR/>`.
pub fn lines(lines: &[String]) -> String {
    lines.iter().map(|l| super::xml_escape(l)).collect::<Vec<_>>().join("<BR/>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        let g = digraph("g", "TB", vec![node("a\"b", vec![text_attr("label", "x\\y")])]);
        let text = print(&g);
        assert!(text.contains(r#""a\"b"[label="x\\y"]"#), "{text}");
    }
}
