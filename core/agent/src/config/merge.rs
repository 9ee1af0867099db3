//! Merge configuration files the way Nomad does (`Config.Merge`): later files override
//! earlier ones key by key; blocks merge recursively, so `client.meta`, `client.options`
//! and `host_volume "name"` merge by key/name; lists and scalars are replaced; a
//! `plugin "name"` block merges by name, its `config` replaced as a whole
//! (`PluginConfigSetMerge`).
//!
//! Merging works on the decoded value model, before typing, and records which file set
//! each value last ([`Provenance`]), so errors found after merging still point into the
//! right file.

use drover_hcl::{FieldPath, PathSeg};
use serde_json::Value;

/// For each merged path, the index of the file that set it last.
#[derive(Debug, Default)]
pub struct Provenance(Vec<(FieldPath, usize)>);

impl Provenance {
    /// The file that set `path`: the longest recorded prefix of it, else the last file
    /// that set anything below it, else `None`.
    pub fn file_of(&self, path: &FieldPath) -> Option<usize> {
        let prefix = self
            .0
            .iter()
            .filter(|(p, _)| path.starts_with(p))
            .max_by_key(|(p, _)| p.segs().len())
            .map(|(_, f)| *f);
        prefix.or_else(|| {
            self.0
                .iter()
                .filter(|(p, _)| p.starts_with(path))
                .map(|(_, f)| *f)
                .max()
        })
    }

    fn set(&mut self, path: FieldPath, file: usize) {
        self.0.retain(|(p, _)| !p.starts_with(&path));
        self.0.push((path, file));
    }
}

/// Merge `next` (file number `file`) into `base`.
pub fn merge(base: &mut Value, next: Value, file: usize, prov: &mut Provenance) {
    merge_at(base, next, &FieldPath::root(), file, prov);
}

fn merge_at(base: &mut Value, next: Value, path: &FieldPath, file: usize, prov: &mut Provenance) {
    let replace_whole = is_plugin_config(path);
    match (base, next) {
        (Value::Object(b), Value::Object(n)) if !replace_whole => {
            for (k, v) in n {
                let p = path.key(k.clone());
                match b.get_mut(&k) {
                    Some(existing) => merge_at(existing, v, &p, file, prov),
                    None => {
                        b.insert(k, v);
                        prov.set(p, file);
                    }
                }
            }
        }
        (b, n) => {
            *b = n;
            prov.set(path.clone(), file);
        }
    }
}

/// `plugin.<name>.config`: replaced, not merged.
fn is_plugin_config(path: &FieldPath) -> bool {
    matches!(path.segs(), [PathSeg::Key(p), PathSeg::Key(_), PathSeg::Key(c)] if p == "plugin" && c == "config")
}
