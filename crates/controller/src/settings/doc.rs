//! Renders `docs/settings.md` from the catalogue.

use std::fmt::Write as _;

use super::catalog::{CATALOG, Group};

/// Where the rendered document lives, relative to the repository root.
pub const PATH: &str = "docs/settings.md";

fn cell(text: &str) -> String {
    text.replace('|', r"\|")
}

/// The whole document.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str(
        "# Ferry settings\n\
         \n\
         <!-- Generated from crates/controller/src/settings/catalog.rs by \
         `cargo test -p ferry-controller settings_doc_is_current` (set \
         FERRY_UPDATE_DOCS=1 to rewrite it). Do not edit by hand. -->\n\
         \n\
         Every setting of `ferry controller`, with upstream Forklift's names. Each is read \
         once at start-up from, in order:\n\
         \n\
         1. the environment variable;\n\
         2. the `ForkliftController` in Ferry's namespace (`POD_NAMESPACE`), key of the \
         second column; a key it leaves out takes its CRD default;\n\
         3. the default in the last column (upstream's built-in default).\n\
         \n\
         An integer that does not parse or is below its minimum stops the controller with \
         upstream's message (`MAX_VM_INFLIGHT must be an integer`, `MAX_VM_INFLIGHT must \
         be >= 1`). A boolean uses Go's `strconv.ParseBool` spellings (`1 t T TRUE true \
         True`, `0 f F FALSE false False`); any other value is ignored. A malformed \
         quantity stops the controller. Changing the ForkliftController takes effect on \
         the next start.\n",
    );
    for group in Group::ALL {
        let _ = write!(
            out,
            "\n## {}\n\n| Variable | ForkliftController key | Type | Default | Meaning |\n|---|---|---|---|---|\n",
            group.title()
        );
        for entry in CATALOG.iter().filter(|e| e.group == group) {
            let key = entry
                .key
                .map_or_else(|| "—".to_string(), |k| format!("`{k}`"));
            let default = if entry.default.is_empty() {
                "(empty)".to_string()
            } else {
                format!("`{}`", entry.default)
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                entry.env,
                key,
                entry.kind.describe(),
                cell(&default),
                cell(entry.doc)
            );
        }
    }
    out
}
