//! The module graph of `src/`, read from the source: no module imports, directly or through
//! others, a module that imports it back, and the layers keep their direction (see
//! docs/architecture.md). A module is a file: `src/api/values.rs` is `api::values`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// Every module file of the library crate, by its path (`["api", "values"]`).
fn module_files() -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                let mut inner = prefix.to_vec();
                inner.push(stem);
                walk(&path, &inner, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut module = prefix.to_vec();
                match stem.as_str() {
                    "mod" => {}
                    "lib" if prefix.is_empty() => {}
                    "main" if prefix.is_empty() => continue, // the binary, a client of the library
                    _ => module.push(stem),
                }
                out.insert(module, path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// Collects the crate paths one file names, resolved to absolute module paths.
struct Imports<'a> {
    modules: &'a BTreeMap<Vec<String>, PathBuf>,
    /// The module the visitor is in: the file's, then any inline `mod` inside it.
    here: Vec<String>,
    /// Names in scope that stand for modules (`use super::values;`), to resolve `values::f()`.
    found: BTreeSet<Vec<String>>,
}

impl Imports<'_> {
    /// Resolves a path's leading segments (`crate`, `super`, `self`, a child module) to an
    /// absolute path; `None` for paths into other crates or local items.
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let mut base = self.here.clone();
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                base.clear();
                rest = &rest[1..];
            }
            Some("super") | Some("self") => {
                while let Some(first) = rest.first() {
                    match first.as_str() {
                        "super" => {
                            base.pop()?;
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                let mut child = self.here.clone();
                child.push(first.to_string());
                if !self.modules.contains_key(&child) {
                    return None;
                }
            }
            None => return None,
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn record(&mut self, segments: &[String]) {
        if let Some(path) = self.resolve(segments) {
            self.found.insert(path);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.record(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.record(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.record(prefix),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Imports<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(&segments);
        syn::visit::visit_path(self, path);
    }

    // `pub(super)` names who may see an item, not something it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_some() {
            self.here.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.here.pop();
        }
    }
}

/// The module file an absolute path lands in: its longest prefix that is a module.
fn owner<'a>(
    modules: &'a BTreeMap<Vec<String>, PathBuf>,
    path: &[String],
) -> Option<&'a Vec<String>> {
    (0..=path.len())
        .rev()
        .find_map(|n| modules.get_key_value(&path[..n]).map(|(k, _)| k))
}

/// Edges between module files: `from` names something in `to`. A module's own children are
/// not imports of it, nor is a file's mention of itself.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = module_files();
    let mut edges = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut imports = Imports {
            modules: &modules,
            here: module.clone(),
            found: BTreeSet::new(),
        };
        imports.visit_file(&ast);
        let targets: BTreeSet<String> = imports
            .found
            .iter()
            .filter_map(|p| owner(&modules, p))
            .filter(|target| *target != module && !target.is_empty())
            .map(|target| target.join("::"))
            .collect();
        edges.insert(module.join("::"), targets);
    }
    edges.remove("");
    edges
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn connect<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                connect(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            connect(&mut state, v);
        }
    }
    state.found
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap()
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let edges = graph();
    let found = circles(&edges);
    // Each circle with the imports that close it, so the message says what to move.
    let explained: Vec<Vec<String>> = found
        .iter()
        .map(|members| {
            members
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|to| members.contains(to))
                        .map(move |to| format!("{from} -> {to}"))
                })
                .collect()
        })
        .collect();
    assert!(found.is_empty(), "import circles: {explained:#?}");
}

#[test]
fn the_circle_check_sees_a_circle() {
    let mut edges = graph();
    edges.get_mut("model").unwrap().insert("store".into());
    edges.get_mut("store").unwrap().insert("model".into());
    assert!(!circles(&edges).is_empty());
}

#[test]
fn the_layers_point_down() {
    // (layer, layers it must not import)
    let rules: &[(&str, &[&str])] = &[
        (
            "model",
            &[
                "store", "auth", "api", "rotation", "server", "admin", "app", "audit", "protocol",
                "config",
            ],
        ),
        (
            "store",
            &[
                "auth", "api", "rotation", "server", "admin", "app", "protocol",
            ],
        ),
        (
            "auth",
            &["api", "rotation", "server", "admin", "app", "store"],
        ),
        (
            "protocol",
            &["store", "api", "rotation", "server", "admin", "app"],
        ),
        ("rotation", &["api", "server", "admin"]),
        ("app", &["api", "server", "admin"]),
        ("api", &["server", "admin"]),
    ];
    let mut wrong = Vec::new();
    for (from, targets) in graph() {
        for (layer, forbidden) in rules {
            if top(&from) == *layer {
                for to in &targets {
                    if forbidden.contains(&top(to)) {
                        wrong.push(format!("{from} -> {to}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering: {wrong:#?}");
}

/// Method calls named `commit` in one file.
struct Commits(usize);

impl<'ast> Visit<'ast> for Commits {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if call.method == "commit" {
            self.0 += 1;
        }
        syn::visit::visit_expr_method_call(self, call);
    }
}

#[test]
fn every_change_is_committed_through_the_commit_path() {
    // `app` is the commit path (audit, replicas); `store` is what it commits to.
    let mut around = Vec::new();
    let mut seen_in_app = 0;
    for (module, file) in module_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut commits = Commits(0);
        commits.visit_file(&syn::parse_file(&text).unwrap());
        match module.first().map(String::as_str) {
            Some("app") => seen_in_app += commits.0,
            Some("store") => {}
            _ if commits.0 > 0 => around.push(format!("{}: {}", module.join("::"), commits.0)),
            _ => {}
        }
    }
    assert!(
        seen_in_app > 0,
        "the check no longer sees the commit path itself"
    );
    assert!(
        around.is_empty(),
        "transactions committed around app::commit: {around:#?}"
    );
}
