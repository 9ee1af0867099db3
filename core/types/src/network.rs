//! `network { mode, port "label" { static, to, host_network } }` → `NetworkResource`.
//!
//! The same type carries both the request (in a group) and the assignment (in an
//! allocation's resources, where dynamic ports have their `Value` filled and `IP` is set).
//! A port with `static` goes to `ReservedPorts`, one without to `DynamicPorts`.

use serde::{Deserialize, Serialize};

/// One network request or assignment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkResource {
    /// `host` (default), `bridge`, `none`, `cni/<name>`.
    pub mode: String,
    /// Host device (assignment).
    pub device: String,
    /// CIDR (assignment).
    #[serde(rename = "CIDR")]
    pub cidr: String,
    /// IP (assignment).
    #[serde(rename = "IP")]
    pub ip: String,
    /// Hostname inside the network namespace.
    pub hostname: String,
    /// Bandwidth (deprecated, kept for the API).
    #[serde(rename = "MBits")]
    pub mbits: Option<i64>,
    /// `dns { servers, searches, options }`.
    #[serde(rename = "DNS")]
    pub dns: Option<DnsConfig>,
    /// `cni { args }`.
    #[serde(rename = "CNI")]
    pub cni: Option<CniConfig>,
    /// Ports with a fixed host port (`static`).
    #[serde(deserialize_with = "crate::de::null_default")]
    pub reserved_ports: Vec<Port>,
    /// Ports the scheduler picks.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub dynamic_ports: Vec<Port>,
}

/// `port "label" { static, to, host_network, ignore_collision }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Port {
    /// The label tasks refer to (`ports = ["mysql"]`, `NOMAD_PORT_mysql`).
    pub label: String,
    /// The host port: `static`, or the one assigned to a dynamic port; 0 = unassigned.
    pub value: i64,
    /// The port inside the task's namespace; 0 = same as `value`, −1 = same as the host port.
    pub to: i64,
    /// Host network name; canonicalizes to `default`.
    pub host_network: String,
    /// Allow several allocations on one static port.
    pub ignore_collision: bool,
}

/// `dns { servers, searches, options }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DnsConfig {
    /// Name servers.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub servers: Vec<String>,
    /// Search domains.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub searches: Vec<String>,
    /// resolv.conf options.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub options: Vec<String>,
}

/// `cni { args }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CniConfig {
    /// Arguments passed to CNI plugins.
    #[serde(deserialize_with = "crate::de::null_default")]
    pub args: std::collections::BTreeMap<String, String>,
}

/// The highest valid port number.
pub const MAX_PORT: i64 = 65_535;

impl NetworkResource {
    /// All ports, reserved first, each with whether it is reserved (static).
    pub fn ports(&self) -> impl Iterator<Item = (&Port, bool)> {
        self.reserved_ports
            .iter()
            .map(|p| (p, true))
            .chain(self.dynamic_ports.iter().map(|p| (p, false)))
    }
    /// The port with this label, if any.
    pub fn port(&self, label: &str) -> Option<&Port> {
        self.ports().map(|(p, _)| p).find(|p| p.label == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_and_lookup() {
        let n: NetworkResource = serde_json::from_str(
            r#"{"Mode":"host","ReservedPorts":[{"Label":"mysql","Value":3307,"To":3306}],
                "DynamicPorts":null,"MBits":0,"DNS":null}"#,
        )
        .unwrap();
        let p = n.port("mysql").unwrap();
        assert_eq!((p.value, p.to), (3307, 3306));
        assert!(n.port("http").is_none());
        let v = serde_json::to_value(&n).unwrap();
        assert_eq!(v["ReservedPorts"][0]["HostNetwork"], "");
        assert!(v.get("CIDR").is_some() && v.get("IP").is_some());
    }
}
