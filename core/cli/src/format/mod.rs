//! Nomad's text layouts, so `drover` output lines up with `nomad` output and with
//! scripts written against it.
//!
//! * [`format_kv`] and [`format_list`] are Nomad's `formatKV`/`formatList` (the
//!   `columnize` library): `|`-separated cells, trimmed, blanks shown as `<none>`,
//!   columns padded to the widest cell, `" = "` or two spaces between them.
//! * [`time`] renders timestamps and "5m ago" the way Nomad does, against a [`Clock`]
//!   so renderers are pure and golden-testable.
//! * [`metrics`] explains failed placements from an `AllocMetric`; [`allocs`] and
//!   [`diff`] are the allocation table and the `job plan` diff.

pub mod allocs;
pub mod diff;
pub mod metrics;
pub mod time;

pub use time::Clock;

/// IDs are shown with this many characters unless `-verbose`.
pub const SHORT_ID: usize = 8;
/// A full UUID.
pub const FULL_ID: usize = 36;

/// The ID length for a `-verbose` flag.
pub fn id_length(verbose: bool) -> usize {
    if verbose { FULL_ID } else { SHORT_ID }
}

/// Nomad's `limit`: the first `n` characters.
pub fn limit(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `key|value` rows as aligned `key = value` lines.
pub fn format_kv<S: AsRef<str>>(rows: &[S]) -> String {
    columnize(rows, " = ")
}

/// `a|b|c` rows as an aligned table (the first row is usually the header).
pub fn format_list<S: AsRef<str>>(rows: &[S]) -> String {
    columnize(rows, "  ")
}

/// `columnize.Format` with `Empty = "<none>"`: every cell but a row's last is padded
/// to its column's widest cell; the output has no trailing newline.
fn columnize<S: AsRef<str>>(rows: &[S], glue: &str) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.as_ref()
                .split('|')
                .map(|c| match c.trim() {
                    "" => "<none>".to_string(),
                    t => t.to_string(),
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            let w = c.chars().count();
            match widths.get_mut(i) {
                Some(max) => *max = (*max).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for (n, row) in cells.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        for (i, c) in row.iter().enumerate() {
            out.push_str(c);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(c.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(glue);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_aligns_and_fills_blanks() {
        let out = format_kv(&["ID|web", "Submit Date|", "Type|service"]);
        assert_eq!(
            out,
            "ID          = web\nSubmit Date = <none>\nType        = service"
        );
    }

    #[test]
    fn list_pads_all_but_the_last_column() {
        let out = format_list(&["ID|Type|Status", "a-long-id|batch|dead", "b||running"]);
        assert_eq!(
            out,
            "ID         Type    Status\na-long-id  batch   dead\nb          <none>  running"
        );
    }

    #[test]
    fn limit_cuts_ids() {
        assert_eq!(limit("0123456789", 8), "01234567");
        assert_eq!(limit("abc", 8), "abc");
    }
}
