//! Which HCL keys each block accepts and their Nomad API JSON names (reference §2.3).

use super::engine::{F, K::*, f};

pub(crate) const JOB: &[F] = &[
    f("id", "ID", Str),
    f("name", "Name", Str),
    f("region", "Region", Str),
    f("namespace", "Namespace", Str),
    f("type", "Type", Str),
    f("priority", "Priority", Int),
    f("all_at_once", "AllAtOnce", Bool),
    f("datacenters", "Datacenters", StrList),
    f("node_pool", "NodePool", Str),
    f("meta", "Meta", StrMap),
    f("constraint", "", Custom),
    f("affinity", "", Custom),
    f("spread", "", Custom),
    f("update", "Update", Block(UPDATE)),
    f("migrate", "Migrate", Block(MIGRATE)),
    f("reschedule", "Reschedule", Block(RESCHEDULE)),
    f("periodic", "", Custom),
    f("parameterized", "ParameterizedJob", Block(PARAMETERIZED)),
    f("multiregion", "Multiregion", Any),
    f("ui", "UI", Any),
    f("vault", "", Custom),
    f("consul_token", "ConsulToken", Str),
    f("vault_token", "VaultToken", Str),
    f("group", "", Custom),
    f("task", "", Custom),
];

pub(crate) const GROUP: &[F] = &[
    f("count", "Count", Int),
    f("constraint", "", Custom),
    f("affinity", "", Custom),
    f("spread", "", Custom),
    f("network", "", Custom),
    f("volume", "", Custom),
    f("restart", "RestartPolicy", Block(RESTART)),
    f("reschedule", "ReschedulePolicy", Block(RESCHEDULE)),
    f("ephemeral_disk", "EphemeralDisk", Block(EPHEMERAL_DISK)),
    f("update", "Update", Block(UPDATE)),
    f("migrate", "Migrate", Block(MIGRATE)),
    f("disconnect", "Disconnect", Block(DISCONNECT)),
    f("service", "", Custom),
    f("meta", "Meta", StrMap),
    f("scaling", "Scaling", Block(SCALING)),
    f("consul", "Consul", Any),
    f("vault", "", Custom),
    f("shutdown_delay", "ShutdownDelay", Dur),
    f("max_run_duration", "MaxRunDuration", Dur),
    f(
        "stop_after_client_disconnect",
        "StopAfterClientDisconnect",
        Dur,
    ),
    f("max_client_disconnect", "MaxClientDisconnect", Dur),
    f(
        "prevent_reschedule_on_lost",
        "PreventRescheduleOnLost",
        Bool,
    ),
    f("task", "", Custom),
];

pub(crate) const TASK: &[F] = &[
    f("driver", "Driver", Str),
    f("user", "User", Str),
    f("config", "Config", Any),
    f("env", "Env", StrMap),
    f("meta", "Meta", StrMap),
    f("resources", "", Custom),
    f("artifact", "Artifacts", Blocks(ARTIFACT)),
    f("template", "Templates", Blocks(TEMPLATE)),
    f("volume_mount", "VolumeMounts", Blocks(VOLUME_MOUNT)),
    f("logs", "LogConfig", Block(LOGS)),
    f("restart", "RestartPolicy", Block(RESTART)),
    f("lifecycle", "Lifecycle", Block(LIFECYCLE)),
    f("service", "", Custom),
    f("constraint", "", Custom),
    f("affinity", "", Custom),
    f("kill_timeout", "KillTimeout", Dur),
    f("kill_signal", "KillSignal", Str),
    f("shutdown_delay", "ShutdownDelay", Dur),
    f("leader", "Leader", Bool),
    f("kind", "Kind", Str),
    f(
        "dispatch_payload",
        "DispatchPayload",
        Block(DISPATCH_PAYLOAD),
    ),
    f("vault", "Vault", Any),
    f("consul", "Consul", Any),
    f("identity", "", Custom),
    f("action", "Actions", Any),
    f("schedule", "Schedule", Any),
    f("csi_plugin", "CSIPluginConfig", Any),
    f("scaling", "", Custom),
];

pub(crate) const RESOURCES: &[F] = &[
    f("cpu", "CPU", Int),
    f("cores", "Cores", Int),
    f("memory", "MemoryMB", Int),
    f("memory_max", "MemoryMaxMB", Int),
    f("disk", "DiskMB", Int),
    f("secrets", "SecretsMB", Int),
    f("iops", "IOPS", Int),
    f("numa", "NUMA", Any),
    f("device", "", Custom),
    f("network", "", Custom),
];

pub(crate) const DEVICE: &[F] = &[
    f("count", "Count", Int),
    f("constraint", "", Custom),
    f("affinity", "", Custom),
];

pub(crate) const NETWORK: &[F] = &[
    f("mode", "Mode", Str),
    f("device", "Device", Str),
    f("cidr", "CIDR", Str),
    f("ip", "IP", Str),
    f("hostname", "Hostname", Str),
    f("mbits", "MBits", Int),
    f("dns", "DNS", Block(DNS)),
    f("cni", "CNI", Block(CNI)),
    f("port", "", Custom),
];

const DNS: &[F] = &[
    f("servers", "Servers", StrList),
    f("searches", "Searches", StrList),
    f("options", "Options", StrList),
];

const CNI: &[F] = &[f("args", "Args", StrMap)];

pub(crate) const PORT: &[F] = &[
    f("static", "Value", Int),
    f("to", "To", Int),
    f("host_network", "HostNetwork", Str),
    f("ignore_collision", "IgnoreCollision", Bool),
];

pub(crate) const VOLUME: &[F] = &[
    f("type", "Type", Str),
    f("source", "Source", Str),
    f("read_only", "ReadOnly", Bool),
    f("sticky", "Sticky", Bool),
    f("access_mode", "AccessMode", Str),
    f("attachment_mode", "AttachmentMode", Str),
    f("per_alloc", "PerAlloc", Bool),
    f("mount_options", "MountOptions", Block(MOUNT_OPTIONS)),
];

const MOUNT_OPTIONS: &[F] = &[
    f("fs_type", "FSType", Str),
    f("mount_flags", "MountFlags", StrList),
];

const VOLUME_MOUNT: &[F] = &[
    f("volume", "Volume", Str),
    f("destination", "Destination", Str),
    f("read_only", "ReadOnly", Bool),
    f("propagation_mode", "PropagationMode", Str),
    f("selinux_label", "SELinuxLabel", Str),
];

const RESTART: &[F] = &[
    f("attempts", "Attempts", Int),
    f("interval", "Interval", Dur),
    f("delay", "Delay", Dur),
    f("mode", "Mode", Str),
    f("render_templates", "RenderTemplates", Bool),
];

const RESCHEDULE: &[F] = &[
    f("attempts", "Attempts", Int),
    f("interval", "Interval", Dur),
    f("delay", "Delay", Dur),
    f("delay_function", "DelayFunction", Str),
    f("max_delay", "MaxDelay", Dur),
    f("unlimited", "Unlimited", Bool),
];

const EPHEMERAL_DISK: &[F] = &[
    f("sticky", "Sticky", Bool),
    f("migrate", "Migrate", Bool),
    f("size", "SizeMB", Int),
];

const UPDATE: &[F] = &[
    f("stagger", "Stagger", Dur),
    f("max_parallel", "MaxParallel", Int),
    f("health_check", "HealthCheck", Str),
    f("min_healthy_time", "MinHealthyTime", Dur),
    f("healthy_deadline", "HealthyDeadline", Dur),
    f("progress_deadline", "ProgressDeadline", Dur),
    f("canary", "Canary", Int),
    f("auto_revert", "AutoRevert", Bool),
    f("auto_promote", "AutoPromote", Bool),
];

const MIGRATE: &[F] = &[
    f("max_parallel", "MaxParallel", Int),
    f("health_check", "HealthCheck", Str),
    f("min_healthy_time", "MinHealthyTime", Dur),
    f("healthy_deadline", "HealthyDeadline", Dur),
];

const DISCONNECT: &[F] = &[
    f("lost_after", "LostAfter", Dur),
    f("replace", "Replace", Bool),
    f("reconcile", "Reconcile", Str),
    f("stop_on_client_after", "StopOnClientAfter", Dur),
];

const SCALING: &[F] = &[
    f("min", "Min", Int),
    f("max", "Max", Int),
    f("enabled", "Enabled", Bool),
    f("policy", "Policy", Any),
];

pub(crate) const PERIODIC: &[F] = &[
    f("cron", "Spec", Str),
    f("crons", "Specs", StrList),
    f("enabled", "Enabled", Bool),
    f("prohibit_overlap", "ProhibitOverlap", Bool),
    f("time_zone", "TimeZone", Str),
];

const PARAMETERIZED: &[F] = &[
    f("payload", "Payload", Str),
    f("meta_required", "MetaRequired", StrList),
    f("meta_optional", "MetaOptional", StrList),
];

const ARTIFACT: &[F] = &[
    f("source", "GetterSource", Str),
    f("destination", "RelativeDest", Str),
    f("mode", "GetterMode", Str),
    f("options", "GetterOptions", StrMap),
    f("headers", "GetterHeaders", StrMap),
    f("insecure", "GetterInsecure", Bool),
    f("chown", "Chown", Bool),
];

const TEMPLATE: &[F] = &[
    f("source", "SourcePath", Str),
    f("destination", "DestPath", Str),
    f("data", "EmbeddedTmpl", Str),
    f("change_mode", "ChangeMode", Str),
    f("change_signal", "ChangeSignal", Str),
    f("change_script", "ChangeScript", Block(CHANGE_SCRIPT)),
    f("splay", "Splay", Dur),
    f("perms", "Perms", Str),
    f("uid", "Uid", Int),
    f("gid", "Gid", Int),
    f("left_delimiter", "LeftDelim", Str),
    f("right_delimiter", "RightDelim", Str),
    f("env", "Envvars", Bool),
    f("once", "Once", Bool),
    f("error_on_missing_key", "ErrMissingKey", Bool),
    f("vault_grace", "VaultGrace", Dur),
    f("wait", "Wait", Block(WAIT)),
];

const CHANGE_SCRIPT: &[F] = &[
    f("command", "Command", Str),
    f("args", "Args", StrList),
    f("timeout", "Timeout", Dur),
    f("fail_on_error", "FailOnError", Bool),
];

const WAIT: &[F] = &[f("min", "Min", Dur), f("max", "Max", Dur)];

const LOGS: &[F] = &[
    f("max_files", "MaxFiles", Int),
    f("max_file_size", "MaxFileSizeMB", Int),
    f("disabled", "Disabled", Bool),
    f("enabled", "Enabled", Bool),
];

const LIFECYCLE: &[F] = &[f("hook", "Hook", Str), f("sidecar", "Sidecar", Bool)];

const DISPATCH_PAYLOAD: &[F] = &[f("file", "File", Str)];

pub(crate) const CONSTRAINT: &[F] = &[
    f("attribute", "LTarget", Str),
    f("operator", "Operand", Str),
    f("value", "RTarget", Str),
    f("version", "", CustomAttr),
    f("semver", "", CustomAttr),
    f("regexp", "", CustomAttr),
    f("set_contains", "", CustomAttr),
    f("set_contains_any", "", CustomAttr),
    f("set_contains_all", "", CustomAttr),
    f("distinct_hosts", "", CustomAttr),
    f("distinct_property", "", CustomAttr),
    f("weight", "Weight", Int),
];

pub(crate) const SPREAD: &[F] = &[
    f("attribute", "Attribute", Str),
    f("weight", "Weight", Int),
    f("target", "", Custom),
];

pub(crate) const SPREAD_TARGET: &[F] = &[f("percent", "Percent", Int)];

pub(crate) const SERVICE: &[F] = &[
    f("name", "Name", Str),
    f("tags", "Tags", StrList),
    f("canary_tags", "CanaryTags", StrList),
    f("port", "PortLabel", Str),
    f("address_mode", "AddressMode", Str),
    f("address", "Address", Str),
    f("provider", "Provider", Str),
    f("on_update", "OnUpdate", Str),
    f("task", "TaskName", Str),
    f("meta", "Meta", StrMap),
    f("check", "", Custom),
    f("enable_tag_override", "EnableTagOverride", Bool),
    f("canary_meta", "CanaryMeta", StrMap),
    f("tagged_addresses", "TaggedAddresses", StrMap),
    f("connect", "Connect", Any),
    f("identity", "Identity", Any),
    f("weights", "Weights", Any),
    f("cluster", "Cluster", Str),
    f("kind", "Kind", Str),
];

pub(crate) const CHECK: &[F] = &[
    f("name", "Name", Str),
    f("type", "Type", Str),
    f("command", "Command", Str),
    f("args", "Args", StrList),
    f("path", "Path", Str),
    f("protocol", "Protocol", Str),
    f("port", "PortLabel", Str),
    f("interval", "Interval", Dur),
    f("timeout", "Timeout", Dur),
    f("method", "Method", Str),
    f("on_update", "OnUpdate", Str),
    f("address_mode", "AddressMode", Str),
    f("expose", "Expose", Bool),
    f("task", "TaskName", Str),
    f("initial_status", "InitialStatus", Str),
    f("tls_skip_verify", "TLSSkipVerify", Bool),
    f("tls_server_name", "TLSServerName", Str),
    f("success_before_passing", "SuccessBeforePassing", Int),
    f("failures_before_critical", "FailuresBeforeCritical", Int),
    f("failures_before_warning", "FailuresBeforeWarning", Int),
    f("header", "Header", Any),
    f("body", "Body", Str),
    f("grpc_service", "GRPCService", Str),
    f("grpc_use_tls", "GRPCUseTLS", Bool),
    f("check_restart", "CheckRestart", Any),
];

/// The API JSON name of an HCL key, for locating validation errors in JSON input.
pub(crate) fn json_name(hcl: &str) -> Option<&'static str> {
    let custom = match hcl {
        "group" => Some("TaskGroups"),
        "task" => Some("Tasks"),
        "constraint" => Some("Constraints"),
        "affinity" => Some("Affinities"),
        "spread" => Some("Spreads"),
        "network" => Some("Networks"),
        "volume" => Some("Volumes"),
        "service" => Some("Services"),
        "resources" => Some("Resources"),
        "device" => Some("Devices"),
        "periodic" => Some("Periodic"),
        "check" => Some("Checks"),
        _ => None,
    };
    if custom.is_some() {
        return custom;
    }
    [
        JOB, GROUP, TASK, RESOURCES, NETWORK, PORT, VOLUME, PERIODIC, CONSTRAINT, SERVICE, CHECK,
    ]
    .iter()
    .flat_map(|t| t.iter())
    .chain(ALL_NESTED.iter().flat_map(|t| t.iter()))
    .find(|f| f.hcl == hcl && !f.json.is_empty())
    .map(|f| f.json)
}

const ALL_NESTED: &[&[F]] = &[
    RESTART,
    RESCHEDULE,
    EPHEMERAL_DISK,
    UPDATE,
    MIGRATE,
    DISCONNECT,
    ARTIFACT,
    TEMPLATE,
    LOGS,
    LIFECYCLE,
    VOLUME_MOUNT,
    DISPATCH_PAYLOAD,
    SCALING,
    PARAMETERIZED,
];
