//! Parse the full fixture N times (for profilers: `valgrind --tool=callgrind`).

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let text = include_str!("../tests/fixtures/full.hcl");
    let vars = drover_jobspec::VarInputs::default();
    let mut ok = 0;
    for _ in 0..n {
        ok += usize::from(drover_jobspec::parse_hcl("full.hcl", text, &vars).is_ok());
    }
    println!("{ok}/{n} parsed");
}
