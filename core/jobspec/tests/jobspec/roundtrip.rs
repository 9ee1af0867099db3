//! HCL → canonical API JSON (what `drover job inspect` prints and `POST /v1/jobs` takes)
//! → parse_json → the same Job.

use drover_jobspec::VarInputs;

use crate::{fixture, parse_ok, seed};

#[test]
fn hcl_to_json_and_back() {
    for path in [
        seed("job-bvc.hcl"),
        seed("job-tetris.hcl"),
        fixture("full.hcl"),
        fixture("batch.hcl"),
        fixture("dispatch.hcl"),
        fixture("hcl2.hcl"),
    ] {
        let job = parse_ok(&path, &VarInputs::default());
        let wrapped =
            serde_json::to_string_pretty(&serde_json::json!({ "Job": job })).expect("json");
        let back = drover_jobspec::parse_json("job.json", &wrapped)
            .unwrap_or_else(|d| panic!("{}: {d}", path.display()));
        assert_eq!(back, job, "{}", path.display());
        let bare = serde_json::to_string(&job).expect("json");
        let back = drover_jobspec::parse_json("job.json", &bare).expect("bare job parses");
        assert_eq!(back, job, "{} (bare)", path.display());
    }
}
