//! Parser tests with fixture texts, and one plausibility test on this machine.

use super::*;

const CPUINFO_X86: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\ncpu MHz\t\t: 2399.998\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\ncpu MHz\t\t: 1200.000\n";

const CPUINFO_ARM: &str = "processor\t: 0\nBogoMIPS\t: 100.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x70\n\nprocessor\t: 1\nBogoMIPS\t: 100.00\n\nprocessor\t: 2\n\nprocessor\t: 3\n";

#[test]
fn cpuinfo_table() {
    let c = parse_cpuinfo(CPUINFO_X86);
    assert_eq!(c.cores, 2);
    assert_eq!(c.model_name, "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz");
    assert_eq!(c.mhz, Some(2399.998));
    let c = parse_cpuinfo(CPUINFO_ARM);
    assert_eq!((c.cores, c.mhz, c.model_name.as_str()), (4, None, ""));
    assert_eq!(parse_cpuinfo(""), CpuInfo::default());
    assert_eq!(parse_cpufreq_khz("2600000\n"), Some(2600));
    assert_eq!(parse_cpufreq_khz("garbage"), None);
}

#[test]
fn meminfo_and_os_release() {
    let m = "MemTotal:       16318412 kB\nMemFree:         1234 kB\n";
    assert_eq!(parse_meminfo(m), Some(16_318_412 * 1024));
    assert_eq!(parse_meminfo("MemFree: 1 kB\n"), None);
    let os = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
    assert_eq!(parse_os_release(os), ("debian".into(), "12".into()));
    let os = "ID='kylin'\nVERSION_ID=V10\n";
    assert_eq!(parse_os_release(os), ("kylin".into(), "V10".into()));
    assert_eq!(parse_os_release(""), (String::new(), String::new()));
}

#[test]
fn default_route_and_mounts() {
    let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
    assert_eq!(parse_default_route(route).as_deref(), Some("eth0"));
    assert_eq!(parse_default_route("Iface\tDestination\n"), None);
    let mounts = "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /var/lib/nomad xfs rw 0 0\ntmpfs /var/lib/nomad/alloc/x/secrets tmpfs rw 0 0\n/dev/sdc1 /mnt/my\\040disk ext4 rw 0 0\n";
    let dev = |p: &str| parse_mount_device(mounts, Path::new(p));
    assert_eq!(dev("/var/lib/nomad/alloc").as_deref(), Some("/dev/sdb1"));
    assert_eq!(
        dev("/var/lib/nomadx").as_deref(),
        Some("/dev/sda1"),
        "component-wise prefix"
    );
    assert_eq!(dev("/mnt/my disk/a").as_deref(), Some("/dev/sdc1"));
    assert_eq!(go_arch("x86_64"), "amd64");
    assert_eq!(go_arch("aarch64"), "arm64");
    assert_eq!(go_arch("armv7l"), "arm");
}

/// The real machine: values must be plausible, not exact.
#[test]
fn gather_on_this_machine_is_plausible() {
    let d = tempfile::tempdir().unwrap();
    let f = gather(&d.path().join("not/yet/created"), None);
    assert_eq!(f.kernel_name, "linux");
    assert!(
        f.kernel_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit()),
        "{f:?}"
    );
    assert!(!f.kernel_arch.is_empty() && !f.hostname.is_empty());
    assert!(f.cpu.cores >= 1 && f.cpu_mhz >= 1);
    assert!(
        f.memory_bytes > 64 * 1024 * 1024,
        "memory {}",
        f.memory_bytes
    );
    let s = f.storage.expect("statvfs of the temp dir's filesystem");
    assert!(s.total_bytes > 0 && s.free_bytes <= s.total_bytes);
    let (iface, _ip) = f.network.expect("some interface, loopback at least");
    assert!(!iface.is_empty());
    let none = gather(d.path(), Some("no-such-if0"));
    assert!(none.network.is_none());
    assert!(
        none.warnings.iter().any(|w| w.contains("no-such-if0")),
        "{:?}",
        none.warnings
    );
}
