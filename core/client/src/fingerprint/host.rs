//! Host facts: what `/proc`, `/etc/os-release`, `uname`, `statvfs` and the network
//! interfaces say about this machine. The parsers are pure and tested with fixture
//! texts; [`gather`] does the reading.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// What `/proc/cpuinfo` says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuInfo {
    /// `model name` of the first processor.
    pub model_name: String,
    /// `cpu MHz` of the first processor that has one.
    pub mhz: Option<f64>,
    /// Number of `processor` entries.
    pub cores: u32,
}

/// The alloc dir's filesystem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storage {
    /// Mounted device, e.g. `/dev/sda1`.
    pub volume: String,
    /// Size in bytes.
    pub total_bytes: u64,
    /// Bytes available to unprivileged users.
    pub free_bytes: u64,
    /// Total inodes.
    pub total_inodes: u64,
    /// Free inodes.
    pub free_inodes: u64,
}

/// Everything fingerprinted from the host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFacts {
    /// `linux`.
    pub kernel_name: String,
    /// `uname -r`.
    pub kernel_version: String,
    /// `uname -m`, e.g. `x86_64`.
    pub kernel_arch: String,
    /// `ID` of os-release, e.g. `ubuntu`.
    pub os_name: String,
    /// `VERSION_ID` of os-release.
    pub os_version: String,
    /// `/proc/cpuinfo`.
    pub cpu: CpuInfo,
    /// Frequency used for `cpu.frequency`, after fallbacks (MHz).
    pub cpu_mhz: u64,
    /// `MemTotal` in bytes.
    pub memory_bytes: u64,
    /// Host name.
    pub hostname: String,
    /// The fingerprinted interface and its address.
    pub network: Option<(String, IpAddr)>,
    /// The alloc dir's filesystem.
    pub storage: Option<Storage>,
    /// What could not be determined and the fallback used.
    pub warnings: Vec<String>,
}

/// MHz assumed per core when neither `/proc/cpuinfo` nor sysfs gives a frequency.
pub const FALLBACK_MHZ: u64 = 1000;

fn key_values(text: &str, sep: char) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(move |l| {
        let (k, v) = l.split_once(sep)?;
        Some((k.trim(), v.trim()))
    })
}

/// Parses `/proc/cpuinfo`.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut c = CpuInfo::default();
    for (k, v) in key_values(text, ':') {
        match k {
            "processor" => c.cores += 1,
            "model name" | "Processor" if c.model_name.is_empty() => c.model_name = v.to_owned(),
            "cpu MHz" if c.mhz.is_none() => c.mhz = v.parse::<f64>().ok().filter(|m| *m > 0.0),
            _ => {}
        }
    }
    c
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn parse_meminfo(text: &str) -> Option<u64> {
    key_values(text, ':')
        .find(|(k, _)| *k == "MemTotal")
        .and_then(|(_, v)| v.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// `(ID, VERSION_ID)` of `/etc/os-release`, unquoted.
pub fn parse_os_release(text: &str) -> (String, String) {
    let map: BTreeMap<&str, &str> = key_values(text, '=')
        .map(|(k, v)| (k, v.trim_matches(|c| c == '"' || c == '\'')))
        .collect();
    let get = |k| map.get(k).map(|s| s.to_string()).unwrap_or_default();
    (get("ID"), get("VERSION_ID"))
}

/// The interface of the default route (lowest metric) in `/proc/net/route`.
pub fn parse_default_route(text: &str) -> Option<String> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Iface Destination Gateway Flags RefCnt Use Metric Mask …
            (f.len() >= 8 && f[1] == "00000000" && f[7] == "00000000")
                .then(|| (f[6].parse::<u64>().unwrap_or(u64::MAX), f[0].to_owned()))
        })
        .min()
        .map(|(_, iface)| iface)
}

/// The device mounted at the longest mount point containing `path` (`/proc/self/mounts`).
pub fn parse_mount_device(text: &str, path: &Path) -> Option<String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let dev = f.next()?;
            let mnt = f.next()?.replace("\\040", " ");
            path.starts_with(&mnt).then(|| (mnt.len(), dev.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, dev)| dev)
}

/// `cpuinfo_max_freq` (kHz) of sysfs, in MHz.
pub fn parse_cpufreq_khz(text: &str) -> Option<u64> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|k| *k > 0)
        .map(|k| k / 1000)
}

/// Go's `GOARCH` name for a `uname -m` machine (Nomad's `cpu.arch`).
pub fn go_arch(machine: &str) -> String {
    match machine {
        "x86_64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "i386" | "i686" => "386",
        m if m.starts_with("armv") => "arm",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
    .to_owned()
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Reads every fact. Never fails: what cannot be read is left empty (or falls back) and
/// noted in `warnings`.
pub fn gather(alloc_dir: &Path, network_interface: Option<&str>) -> HostFacts {
    let mut f = HostFacts::default();
    let u = rustix::system::uname();
    let s = |c: &CStr| c.to_string_lossy().into_owned();
    f.kernel_name = s(u.sysname()).to_lowercase();
    f.kernel_version = s(u.release());
    f.kernel_arch = s(u.machine());
    f.hostname = s(u.nodename());
    (f.os_name, f.os_version) = read("/etc/os-release")
        .or_else(|| read("/usr/lib/os-release"))
        .map(|t| parse_os_release(&t))
        .unwrap_or_default();
    f.cpu = read("/proc/cpuinfo")
        .map(|t| parse_cpuinfo(&t))
        .unwrap_or_default();
    if f.cpu.cores == 0 {
        f.cpu.cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    }
    f.cpu_mhz = match f.cpu.mhz {
        Some(m) => m.round() as u64,
        None => match read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
            .and_then(|t| parse_cpufreq_khz(&t))
        {
            Some(m) => m,
            None => {
                f.warnings.push(format!(
                    "cpu frequency unknown (no \"cpu MHz\" in /proc/cpuinfo, no cpufreq in sysfs); assuming {FALLBACK_MHZ} MHz per core, set client.cpu_total_compute to override"
                ));
                FALLBACK_MHZ
            }
        },
    };
    f.memory_bytes = read("/proc/meminfo")
        .and_then(|t| parse_meminfo(&t))
        .unwrap_or(0);
    f.network = pick_network(network_interface, &mut f.warnings);
    f.storage = storage(alloc_dir, &mut f.warnings);
    f
}

/// The address other machines reach this host at: the one of the interface of the
/// default route (else the first non-loopback IPv4). What an agent bound to every
/// interface advertises, as Nomad advertises its private IP.
pub fn host_address() -> Option<IpAddr> {
    pick_network(None, &mut Vec::new())
        .map(|(_, ip)| ip)
        .filter(|ip| !ip.is_loopback())
}

fn pick_network(wanted: Option<&str>, warnings: &mut Vec<String>) -> Option<(String, IpAddr)> {
    let addrs = match interface_addrs() {
        Ok(a) => a,
        Err(e) => {
            warnings.push(format!("cannot list network interfaces: {e}"));
            return None;
        }
    };
    let best = |iface: &str| {
        let of = |v4| {
            addrs
                .iter()
                .find(|(n, ip)| n == iface && ip.is_ipv4() == v4)
        };
        of(true)
            .or_else(|| of(false))
            .map(|(n, ip)| (n.clone(), *ip))
    };
    if let Some(w) = wanted {
        let found = best(w);
        if found.is_none() {
            warnings.push(format!("network_interface {w:?} has no address"));
        }
        return found;
    }
    read("/proc/net/route")
        .and_then(|t| parse_default_route(&t))
        .and_then(|i| best(&i))
        .or_else(|| {
            let first = addrs
                .iter()
                .find(|(_, ip)| ip.is_ipv4() && !ip.is_loopback());
            first.map(|(n, ip)| (n.clone(), *ip))
        })
        .or_else(|| {
            warnings.push("no default route and no non-loopback address; using loopback".into());
            addrs.iter().find(|(_, ip)| ip.is_loopback()).cloned()
        })
}

fn storage(alloc_dir: &Path, warnings: &mut Vec<String>) -> Option<Storage> {
    // The alloc dir may not exist yet: measure its nearest existing ancestor.
    let mut p: PathBuf = alloc_dir.to_owned();
    while !p.exists() {
        if !p.pop() {
            break;
        }
    }
    let p = p.canonicalize().unwrap_or(p);
    match rustix::fs::statvfs(&p) {
        Ok(v) => Some(Storage {
            volume: read("/proc/self/mounts")
                .and_then(|t| parse_mount_device(&t, &p))
                .unwrap_or_default(),
            total_bytes: v.f_blocks.saturating_mul(v.f_frsize),
            free_bytes: v.f_bavail.saturating_mul(v.f_frsize),
            total_inodes: v.f_files,
            free_inodes: v.f_favail,
        }),
        Err(e) => {
            warnings.push(format!("cannot statvfs {}: {e}", p.display()));
            None
        }
    }
}

/// Every interface address (`getifaddrs`).
fn interface_addrs() -> io::Result<Vec<(String, IpAddr)>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        if !ifa.ifa_addr.is_null() && !ifa.ifa_name.is_null() {
            // SAFETY: ifa_name is a NUL-terminated string owned by the list.
            let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
                .to_string_lossy()
                .into_owned();
            // SAFETY: ifa_addr is non-null and starts with a sockaddr header.
            let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
            let ip = if family == libc::AF_INET {
                // SAFETY: the family says this is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))))
            } else if family == libc::AF_INET6 {
                // SAFETY: the family says this is a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
            } else {
                None
            };
            if let Some(ip) = ip {
                out.push((name, ip));
            }
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
