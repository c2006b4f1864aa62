//! A file-level import graph of a crate's `src`, read from the text: comments and string
//! literals blanked (positions kept), `#[cfg(test)]` items cut, `use` trees expanded, inline
//! paths followed, inline modules tracked so `super::` means what the compiler means.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// One source file.
pub struct SourceFile {
    /// Path below `src`, with `/`.
    pub rel: String,
    /// The module the file is (`["org", "model"]` for `org/model.rs`, `[]` for `lib.rs`).
    pub module: Vec<String>,
    /// The code without comments, string literals or `#[cfg(test)]` items; newlines kept.
    pub code: String,
    /// Lines of the file without its `#[cfg(test)]` items.
    pub lines: usize,
}

/// The files and their imports.
pub struct Graph {
    /// Every file of the library (the binary's `main.rs` is left out: it is the top).
    pub files: Vec<SourceFile>,
    /// Per file: the files it imports, each with the first path that made the edge.
    pub edges: Vec<BTreeMap<usize, String>>,
}

impl Graph {
    /// Reads every `.rs` file below `src`.
    pub fn read(src: &str) -> Graph {
        let root = Path::new(src);
        let mut paths = Vec::new();
        collect(root, &mut paths);
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            let rel = path.strip_prefix(root).expect("below src").to_string_lossy().replace('\\', "/");
            if rel == "main.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable source");
            let blanked = blank(&text);
            let tests = test_items(&blanked);
            let without_tests = cut(&text, &tests);
            let cut_lines = text
                .lines()
                .zip(without_tests.lines())
                .filter(|(a, b)| !a.trim().is_empty() && b.trim().is_empty())
                .count();
            let lines = text.lines().count() - cut_lines;
            files.push(SourceFile { module: module_of(&rel), code: cut(&blanked, &tests), lines, rel });
        }
        let by_module: HashMap<Vec<String>, usize> =
            files.iter().enumerate().map(|(i, f)| (f.module.clone(), i)).collect();
        // `#[macro_export]` macros live at the crate root by name but belong to their file.
        let mut macros: HashMap<String, usize> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            for (k, _) in f.code.match_indices("#[macro_export]") {
                let rest = f.code[k..].split_once("macro_rules!").map(|(_, r)| r.trim_start()).unwrap_or("");
                let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
                macros.insert(name, i);
            }
        }
        let defines: Vec<HashSet<String>> = files.iter().map(|f| defined_names(&f.code)).collect();
        let uses: Vec<Vec<Vec<String>>> =
            files.iter().map(|f| paths_in(&f.code, &f.module).into_iter().map(|(p, _)| p).collect()).collect();
        let resolver = Resolver { by_module: &by_module, macros: &macros, defines: &defines, uses: &uses };
        let edges = files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut out = BTreeMap::new();
                for (path, text) in paths_in(&f.code, &f.module) {
                    if let Some(t) = resolver.resolve(&path, 0)
                        && t != i
                    {
                        out.entry(t).or_insert(text);
                    }
                }
                out
            })
            .collect();
        Graph { files, edges }
    }

    /// The index of the file at `rel`.
    pub fn index(&self, rel: &str) -> Option<usize> {
        self.files.iter().position(|f| f.rel == rel)
    }

    /// The strongly connected groups of more than one file (Tarjan), each sorted.
    pub fn circles(&self) -> Vec<Vec<usize>> {
        struct Walk<'a> {
            edges: &'a [BTreeMap<usize, String>],
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            on_stack: Vec<bool>,
            stack: Vec<usize>,
            next: usize,
            out: Vec<Vec<usize>>,
        }
        fn visit(w: &mut Walk<'_>, v: usize) {
            w.index[v] = Some(w.next);
            w.low[v] = w.next;
            w.next += 1;
            w.stack.push(v);
            w.on_stack[v] = true;
            let targets: Vec<usize> = w.edges[v].keys().copied().collect();
            for t in targets {
                match w.index[t] {
                    None => {
                        visit(w, t);
                        w.low[v] = w.low[v].min(w.low[t]);
                    }
                    Some(ti) if w.on_stack[t] => w.low[v] = w.low[v].min(ti),
                    Some(_) => {}
                }
            }
            if Some(w.low[v]) == w.index[v] {
                let mut group = Vec::new();
                while let Some(x) = w.stack.pop() {
                    w.on_stack[x] = false;
                    group.push(x);
                    if x == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort_unstable();
                    w.out.push(group);
                }
            }
        }
        let n = self.files.len();
        let mut w = Walk {
            edges: &self.edges,
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            next: 0,
            out: Vec::new(),
        };
        for v in 0..n {
            if w.index[v].is_none() {
                visit(&mut w, v);
            }
        }
        w.out
    }
}

/// Finds the file that defines what a path names, following `use` (re-exports and globs), so a
/// child that reaches a sibling's item through its parent's re-export points at the sibling.
struct Resolver<'a> {
    by_module: &'a HashMap<Vec<String>, usize>,
    macros: &'a HashMap<String, usize>,
    defines: &'a [HashSet<String>],
    uses: &'a [Vec<Vec<String>>],
}

impl Resolver<'_> {
    /// The file a path points at: the definer of the item it names when it can be found, else
    /// the deepest module with a file of its own.
    fn resolve(&self, path: &[String], depth: usize) -> Option<usize> {
        self.definer(path, depth).or_else(|| self.module_file(path).map(|(_, f)| f))
    }

    fn module_file(&self, path: &[String]) -> Option<(usize, usize)> {
        (0..=path.len()).rev().find_map(|n| self.by_module.get(&path[..n]).map(|f| (n, *f)))
    }

    /// The file that defines what `path` names, following `use` declarations (named, and
    /// globs of modules) up to a few steps.
    fn definer(&self, path: &[String], depth: usize) -> Option<usize> {
        if path.len() == 1
            && let Some(m) = self.macros.get(&path[0])
        {
            return Some(*m);
        }
        let (n, file) = self.module_file(path)?;
        let Some(name) = path.get(n) else { return Some(file) };
        if self.defines[file].contains(name) {
            return Some(file);
        }
        if depth >= 4 {
            return None;
        }
        for used in &self.uses[file] {
            if used.as_slice() == path {
                continue;
            }
            if used.last() == Some(name) {
                if let Some(found) = self.definer(used, depth + 1) {
                    return Some(found);
                }
            } else if let Some(glob) = self.by_module.get(used.as_slice())
                && *glob != file
            {
                let mut through = used.clone();
                through.push(name.clone());
                if let Some(found) = self.definer(&through, depth + 1) {
                    return Some(found);
                }
            }
        }
        None
    }
}

/// The names a file defines at any depth: items, and the types that the crate's
/// type-declaring macros (`connection_type!`, `*_enum!`) make.
fn defined_names(code: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let words: Vec<&str> = code.split(|c: char| !is_ident(c) && c != '!').filter(|w| !w.is_empty()).collect();
    for pair in words.windows(2) {
        match pair[0] {
            "fn" | "struct" | "enum" | "const" | "static" | "type" | "trait" | "union" | "mod" | "macro_rules!" => {
                out.insert(pair[1].trim_end_matches('!').to_owned());
            }
            m if m.ends_with("_enum!") => {
                out.insert(pair[1].to_owned());
            }
            _ => {}
        }
    }
    for window in words.windows(3) {
        if window[0] == "connection_type!" {
            out.insert(window[1].to_owned());
            out.insert(window[2].to_owned());
        }
    }
    out
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(rel: &str) -> Vec<String> {
    let trimmed = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = trimmed.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Comments and the contents of string and char literals replaced by spaces (newlines kept).
pub fn blank(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(keep(b[i]));
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && next == Some('r')))
            && !prev_is_ident(&b, i)
            && raw_string_start(&b, i + usize::from(c == 'b')).is_some()
        {
            let start = i + usize::from(c == 'b');
            let hashes = raw_string_start(&b, start).unwrap_or(0);
            // r, hashes, opening quote
            for _ in i..start + 1 + hashes + 1 {
                out.push(' ');
            }
            i = start + 1 + hashes + 1;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|h| b.get(i + 1 + h) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(keep(b[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(keep(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    for _ in i..=end {
                        out.push(' ');
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// At `r`: the number of `#` of a raw string that starts here, if one does.
fn raw_string_start(b: &[char], i: usize) -> Option<usize> {
    if b.get(i) != Some(&'r') {
        return None;
    }
    let mut j = i + 1;
    while b.get(j) == Some(&'#') {
        j += 1;
    }
    (b.get(j) == Some(&'"')).then_some(j - i - 1)
}

/// `text` with the character ranges blanked (newlines kept).
pub fn cut(text: &str, ranges: &[(usize, usize)]) -> String {
    let mut out: Vec<char> = text.chars().collect();
    let last = out.len().saturating_sub(1);
    for &(from, to) in ranges {
        for c in &mut out[from..=to.min(last)] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    }
    out.into_iter().collect()
}

/// The code with every item marked `#[cfg(test)]` cut out (newlines kept).
pub fn cut_tests(code: &str) -> String {
    cut(code, &test_items(code))
}

/// The character ranges (inclusive) of the items marked `#[cfg(test)]` in blanked code.
pub fn test_items(code: &str) -> Vec<(usize, usize)> {
    let out: Vec<char> = code.chars().collect();
    let mut ranges = Vec::new();
    let mut from = 0;
    let text: String = code.to_owned();
    while let Some(pos) = text[from..].find("#[cfg(test)]").map(|p| p + from) {
        let chars_before = text[..pos].chars().count();
        // The item ends at the first `;` before any `{`, or at the brace that closes its block.
        let mut depth = 0usize;
        let mut end = None;
        for (k, c) in out.iter().enumerate().skip(chars_before) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = Some(k);
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = Some(k);
                    break;
                }
                _ => {}
            }
        }
        ranges.push((chars_before, end.unwrap_or(out.len() - 1)));
        from = pos + 1;
    }
    ranges
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every module path the code names (`crate::`, `super::`, `self::`, in `use` trees and inline),
/// made absolute, with the text that named it.
pub fn paths_in(code: &str, module: &[String]) -> Vec<(Vec<String>, String)> {
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let children = declared_modules(code);
    // Inline modules: (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        if !is_ident(c) || (i > 0 && (is_ident(b[i - 1]) || b[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let word_end = (i..b.len()).find(|&j| !is_ident(b[j])).unwrap_or(b.len());
        let word: String = b[i..word_end].iter().collect();
        let here: Vec<String> = module.iter().cloned().chain(inline.iter().map(|(n, _)| n.clone())).collect();
        if word == "mod" {
            let rest: String = b[word_end..b.len().min(word_end + 80)].iter().collect();
            let rest = rest.trim_start();
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            let after = rest[name.len()..].trim_start();
            if !name.is_empty() && after.starts_with('{') {
                inline.push((name, depth + 1));
            }
            i = word_end;
            continue;
        }
        if word == "use" {
            let end = (word_end..b.len()).find(|&j| b[j] == ';').unwrap_or(b.len());
            let tree = normalize(&b[word_end..end].iter().collect::<String>());
            for path in expand(&tree) {
                if let Some(abs) = absolute(&path, &here, &children) {
                    out.push((abs, path.join("::")));
                }
            }
            i = end;
            continue;
        }
        let named = matches!(word.as_str(), "crate" | "super" | "self") || children.contains(&word);
        if named && b.get(word_end) == Some(&':') && b.get(word_end + 1) == Some(&':') {
            let mut j = word_end;
            let mut segments = vec![word.clone()];
            while b.get(j) == Some(&':') && b.get(j + 1) == Some(&':') {
                let s = j + 2;
                let e = (s..b.len()).find(|&k| !is_ident(b[k])).unwrap_or(b.len());
                if e == s {
                    break;
                }
                segments.push(b[s..e].iter().collect());
                j = e;
            }
            if let Some(abs) = absolute(&segments, &here, &children) {
                out.push((abs, segments.join("::")));
            }
            i = j;
            continue;
        }
        i = word_end;
    }
    out
}

/// The modules a file declares at its top level (`mod x;`, `pub mod x;`, `mod x { … }`): a
/// bare path that starts with one of them is relative to the file.
fn declared_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        let line = line.strip_prefix("pub(crate) ").or_else(|| line.strip_prefix("pub ")).unwrap_or(line);
        if let Some(rest) = line.strip_prefix("mod ") {
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// A `use` tree with its whitespace folded: none around `::`, `{`, `}` and `,`; one space
/// around `as`.
fn normalize(tree: &str) -> String {
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        let glue = out.ends_with([':', '{', ',']) || w.starts_with([':', '{', '}', ',']) || out.is_empty();
        if !glue {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// The paths of a `use` tree (whitespace folded by [`normalize`]): `a::{b,c::{d,e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree = tree.strip_prefix("::").unwrap_or(tree);
    let mut out = Vec::new();
    // Split at the first `{` at the top level.
    match tree.find('{') {
        None => {
            let path = tree.split(" as ").next().unwrap_or(tree);
            let segments: Vec<String> =
                path.split("::").filter(|s| !s.is_empty() && *s != "*").map(str::to_owned).collect();
            if !segments.is_empty() {
                out.push(segments);
            }
        }
        Some(open) => {
            let prefix: Vec<String> = tree[..open].split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
            let close = tree.rfind('}').unwrap_or(tree.len());
            let inner = &tree[open + 1..close];
            let mut depth = 0;
            let mut start = 0;
            let mut parts = Vec::new();
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        parts.push(&inner[start..k]);
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            parts.push(&inner[start..]);
            for part in parts.into_iter().filter(|p| !p.is_empty()) {
                for rest in expand(part) {
                    let mut full = prefix.clone();
                    full.extend(rest.into_iter().filter(|s| s != "self"));
                    out.push(full);
                }
            }
        }
    }
    out
}

/// `crate::a::b` / `super::a` / `self::a` made absolute from module `here`; `None` for paths
/// into other crates.
fn absolute(path: &[String], here: &[String], children: &[String]) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        child if children.iter().any(|c| c == child) => {
            let mut b = here.to_vec();
            b.push(child.to_owned());
            b
        }
        "self" => here.to_vec(),
        "super" => {
            let mut b = here.to_vec();
            b.pop();
            b
        }
        _ => return None,
    };
    let mut rest = rest.iter().peekable();
    if first == "super" {
        while rest.peek().is_some_and(|s| *s == "super") {
            base.pop();
            rest.next();
        }
    }
    base.extend(rest.cloned());
    Some(base)
}

/// The items a file takes from `async_graphql` (`use async_graphql::{Enum, Object}` → `Enum`,
/// `Object`; an inline `async_graphql::Enum` → `Enum`).
pub fn async_graphql_items(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = code[from..].find("async_graphql").map(|p| p + from) {
        from = pos + "async_graphql".len();
        let before = code[..pos].chars().last();
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        let rest: String = code[from..].chars().take(400).collect();
        if let Some(tail) = rest.strip_prefix("::") {
            let tail = tail.trim_start();
            if let Some(group) = tail.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item.trim().chars().take_while(|c| is_ident(*c)).collect();
                    if !name.is_empty() {
                        out.push(name);
                    }
                }
            } else {
                let name: String = tail.chars().take_while(|c| is_ident(*c)).collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn use_trees_expand() {
        assert_eq!(
            expand("crate::a::{b,c::{d,e},self}"),
            vec![
                s(&["crate", "a", "b"]),
                s(&["crate", "a", "c", "d"]),
                s(&["crate", "a", "c", "e"]),
                s(&["crate", "a"]),
            ]
        );
        assert_eq!(expand(&normalize("super::x::Y as Z")), vec![s(&["super", "x", "Y"])]);
        assert_eq!(
            expand(&normalize("crate::{ access, b::{ c as d } }")),
            vec![s(&["crate", "access"]), s(&["crate", "b", "c"]),]
        );
    }

    #[test]
    fn comments_and_strings_are_blanked_and_tests_cut() {
        let code = blank("let a = \"crate::x\"; // crate::y\nlet c = 'c'; fn f<'a>() {}\n");
        assert!(!code.contains("crate::"), "{code}");
        assert!(code.contains("<'a>"), "{code}");
        let cut = cut_tests("fn a() {}\n#[cfg(test)]\nmod tests {\n use crate::z;\n}\nfn b() {}\n");
        assert!(!cut.contains("crate::z") && cut.contains("fn b"), "{cut}");
    }

    #[test]
    fn super_inside_an_inline_module_is_the_file() {
        let code = "mod inner { use super::Thing; fn f() { crate::a::b(); } }\nuse super::Other;";
        let found: Vec<Vec<String>> = paths_in(code, &s(&["x", "y"])).into_iter().map(|(p, _)| p).collect();
        assert_eq!(found, vec![s(&["x", "y", "Thing"]), s(&["a", "b"]), s(&["x", "Other"])]);
    }
}
