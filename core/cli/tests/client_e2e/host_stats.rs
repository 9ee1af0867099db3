//! `/v1/client/stats` of a real agent: the host's CPUs, memory and disk.

use super::*;

#[test]
fn client_stats_report_every_cpu_with_percentages_over_the_last_interval() {
    let mut c = Cluster::new("");
    let agent = c.start();
    let cpus = std::fs::read_to_string("/proc/stat")
        .expect("/proc/stat")
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count();
    // Two readings: the second covers only the time since the first.
    for _ in 0..2 {
        let s = get_json(&agent, "/v1/client/stats").expect("client stats");
        let list = s["CPU"].as_array().unwrap_or_else(|| panic!("no CPU: {s}"));
        assert_eq!(list.len(), cpus, "{s}");
        for (i, cpu) in list.iter().enumerate() {
            assert_eq!(cpu["CPU"], format!("cpu{i}"), "{s}");
            let part = |k: &str| cpu[k].as_f64().unwrap_or(-1.0);
            let (user, system, idle) = (part("User"), part("System"), part("Idle"));
            assert!(user >= 0.0 && system >= 0.0 && idle >= 0.0, "{cpu}");
            assert!(user + system + idle <= 100.0 + 1e-6, "{cpu}");
            assert!(user + system + idle > 0.0, "{cpu}");
        }
        assert!(
            s["CPUTicksConsumed"].as_f64().is_some_and(|t| t >= 0.0),
            "{s}"
        );
        assert!(s["Memory"]["Total"].as_u64().is_some_and(|t| t > 0), "{s}");
        assert!(
            s["AllocDirStats"]["Size"].as_u64().is_some_and(|t| t > 0),
            "{s}"
        );
    }
}
