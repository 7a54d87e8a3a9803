//! Self-contained HTML pages: what an instructor projects and a student hands in
//! (`oslab tour --html`, `oslab compare --html`).
//!
//! One file, no network: the style sheet is inline, the pictures are inline SVG, and there is no
//! script and no font to fetch. The page reads in black and white (a verdict is a word and a
//! symbol, not a colour) and on a projector (large type, dark on light). The markup is written
//! with maud, which escapes every string it is given: a demo's output goes in as text.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

/// The style sheet, inline.
const STYLE: &str = r#"
:root { color-scheme: light; }
body { font: 18px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #111; background: #fff; margin: 0 auto; max-width: 72rem; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 2rem; margin: 0 0 .3rem; }
h2 { font-size: 1.5rem; margin: 2.5rem 0 .5rem; border-bottom: 2px solid #111; }
h3 { font-size: 1.25rem; margin: 0 0 .3rem; }
code, pre { font: 15px/1.35 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre { background: #f4f4f4; border: 1px solid #ccc; padding: .6rem .8rem; overflow-x: auto;
      white-space: pre-wrap; word-break: break-word; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #999; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta th { width: 11rem; }
.provenance { color: #333; margin: 0 0 1rem; }
section.demo { border: 1px solid #bbb; padding: 1rem 1.2rem; margin: 1.2rem 0; break-inside: avoid-page; }
.verdict { font-weight: 600; padding: .4rem .7rem; margin: .5rem 0; border-left: 6px solid #111; }
.verdict.held { border-left-style: solid; background: #e8f4e8; }
.verdict.not-held { border-left-style: double; border-left-width: 9px; background: #fbe9e7; }
.verdict.unchecked, .verdict.failed { border-left-style: dashed; background: #f2f2f2; }
.lesson { margin: .5rem 0; }
figure { margin: .8rem 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: .9rem; color: #333; }
.small { font-size: .9rem; color: #333; }
@media print { body { max-width: none; font-size: 11pt; padding: 0; } pre { white-space: pre-wrap; }
               table { font-size: 9pt; } code, pre { font-size: 8.5pt; } }
"#;

/// A whole page: `title`, the metadata table at the top, then `body`.
pub fn page(title: &str, provenance: &str, meta: &[(String, String)], body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (title) }
                    p.provenance { (provenance) }
                    table.meta {
                        @for (k, v) in meta {
                            tr { th scope="row" { (k) } td { (v) } }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}

/// The machine and run rows of a document stamped by [`crate::kit::report::stamped`] (or a demo's
/// report), for the table at the top of a page: oslab, when, the command, the kernel, the CPU.
pub fn meta_rows(doc: &Value, system: &Value) -> Vec<(String, String)> {
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "unknown".into(),
        other => other.to_string(),
    };
    let argv: Vec<String> = doc["argv"]
        .as_array()
        .map(|a| a.iter().map(s).collect())
        .unwrap_or_default();
    let mut rows = vec![
        ("oslab".to_string(), s(&doc["oslab"])),
        ("run at (UTC)".into(), s(&doc["run_at"])),
        ("command".into(), crate::kit::report::shown_command(&argv)),
    ];
    if system.is_object() {
        rows.extend([
            (
                "kernel".into(),
                format!("Linux {} — {}", s(&system["kernel"]), s(&system["kernel_version"])),
            ),
            ("scheduler".into(), s(&system["scheduler"])),
            ("CPU".into(), s(&system["cpu_model"])),
            (
                "CPUs".into(),
                format!(
                    "{} online, {} usable ({})",
                    s(&system["cpus_online"]),
                    s(&system["cpus_usable_count"]),
                    s(&system["cpus_usable"])
                ),
            ),
            (
                "machine".into(),
                if system["hypervisor"] == Value::Bool(true) {
                    "a virtual machine (the CPU reports a hypervisor): compare ratios, not absolutes"
                        .into()
                } else {
                    "no hypervisor reported".into()
                },
            ),
            (
                "pages".into(),
                format!(
                    "{} bytes, transparent huge pages: {}",
                    s(&system["page_size"]),
                    s(&system["thp"])
                ),
            ),
        ]);
    }
    rows
}

/// How a verdict reads: its CSS class, a symbol and the word (`✓ held`).
pub fn verdict_parts(verdict: &Value, ok: bool) -> (&'static str, &'static str, &'static str) {
    match (ok, verdict.get("held")) {
        (false, _) | (_, None) => ("failed", "✗", "failed"),
        (true, Some(Value::Bool(true))) => ("held", "✓", "held"),
        (true, Some(Value::Bool(false))) => ("not-held", "✗", "did not hold"),
        (true, Some(_)) => ("unchecked", "?", "could not be checked"),
    }
}

/// The verdict as a block: `✓ held — the claim: what decided it`.
pub fn verdict(verdict: &Value, ok: bool) -> Markup {
    let (class, symbol, word) = verdict_parts(verdict, ok);
    let text = |k: &str| verdict[k].as_str().unwrap_or("").to_string();
    html! {
        p class={ "verdict " (class) } {
            (symbol) " " (word)
            @if ok && verdict.is_object() {
                " — " (text("claim")) ": " span style="font-weight: normal" { (text("because")) }
            }
        }
    }
}

/// A picture inline: the SVG as drawn, with its title as the caption.
pub fn figure(svg: &str, caption: &str) -> Markup {
    // The SVG comes from our own plotting code (crate::kit::plot), which escapes its text; its
    // XML declaration has no place inside HTML.
    let svg = svg
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>").map(|(_, body)| body))
        .unwrap_or(svg);
    html! {
        figure {
            (PreEscaped(svg))
            figcaption { (caption) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_is_escaped_and_the_page_needs_nothing_from_the_network() {
        let body = html! { pre { ("var = 1 < 2 && <script>") } };
        let page = page("t <1>", "p", &[("k".into(), "<v>".into())], body);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("var = 1 &lt; 2 &amp;&amp; &lt;script&gt;"));
        assert!(page.contains("<title>t &lt;1&gt;</title>"));
        assert!(page.contains("<td>&lt;v&gt;</td>"));
        assert!(
            !page.contains("<script") && !page.contains("http://") && !page.contains("https://")
        );
    }

    #[test]
    fn verdicts_read_in_black_and_white() {
        let v = json!({"claim": "updates are lost", "held": true, "because": "10 of 20"});
        let m = verdict(&v, true).into_string();
        assert!(m.contains("✓ held — updates are lost: "), "{m}");
        let v = json!({"claim": "c", "held": false, "because": "b"});
        assert_eq!(verdict_parts(&v, true), ("not-held", "✗", "did not hold"));
        assert_eq!(verdict_parts(&Value::Null, false).2, "failed");
        let v = json!({"claim": "c", "held": null, "because": "b"});
        assert_eq!(verdict_parts(&v, true).2, "could not be checked");
    }

    #[test]
    fn an_svg_goes_in_without_its_xml_declaration() {
        let m = figure("<?xml version=\"1.0\"?>\n<svg><text>a</text></svg>", "cap").into_string();
        assert!(
            m.starts_with("<figure>") && m.contains("<svg><text>a</text></svg>"),
            "{m}"
        );
        assert!(
            !m.contains("<?xml") && m.contains("<figcaption>cap</figcaption>"),
            "{m}"
        );
    }
}
