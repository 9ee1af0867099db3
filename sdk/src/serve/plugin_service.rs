//! The `Plugin` and `Controller` services, and the state all services share.
//!
//! `SetConfig` is the gate: until the plugin accepted a config, task and
//! fetch calls answer `FAILED_PRECONDITION`, so a plugin never sees work
//! before its own configuration.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use drover_proto::handshake::APP_PROTOCOL_VERSIONS;
use drover_proto::v1::{self, controller_server, plugin_server};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::config;
use crate::driver::{AgentInfo, Driver, PluginMeta};
use crate::fetcher::Fetcher;

/// What the `Plugin` service needs of a plugin, whatever its type.
#[tonic::async_trait]
pub(super) trait Hosted: Send + Sync + 'static {
    type Config: DeserializeOwned + JsonSchema + Default + Send + 'static;
    const TYPE: v1::PluginType;
    fn meta(&self) -> PluginMeta;
    async fn set_config(&self, config: Self::Config, agent: AgentInfo) -> crate::Result<()>;
}

/// A [`Driver`] as a hosted plugin.
pub(super) struct DriverPlugin<D>(pub(super) D);

impl<D> Deref for DriverPlugin<D> {
    type Target = D;
    fn deref(&self) -> &D {
        &self.0
    }
}

#[tonic::async_trait]
impl<D: Driver> Hosted for DriverPlugin<D> {
    type Config = D::Config;
    const TYPE: v1::PluginType = v1::PluginType::Driver;
    fn meta(&self) -> PluginMeta {
        self.0.meta()
    }
    async fn set_config(&self, config: D::Config, agent: AgentInfo) -> crate::Result<()> {
        self.0.set_config(config, agent).await
    }
}

/// A [`Fetcher`] as a hosted plugin.
pub(super) struct FetcherPlugin<F>(pub(super) F);

impl<F> Deref for FetcherPlugin<F> {
    type Target = F;
    fn deref(&self) -> &F {
        &self.0
    }
}

#[tonic::async_trait]
impl<F: Fetcher> Hosted for FetcherPlugin<F> {
    type Config = F::Config;
    const TYPE: v1::PluginType = v1::PluginType::Fetcher;
    fn meta(&self) -> PluginMeta {
        self.0.meta()
    }
    async fn set_config(&self, config: F::Config, agent: AgentInfo) -> crate::Result<()> {
        self.0.set_config(config, agent).await
    }
}

/// What every service of one plugin process shares.
pub(super) struct Shared<P> {
    pub(super) plugin: P,
    configured: AtomicBool,
    /// Cancelled by `Controller.Shutdown` or SIGTERM.
    pub(super) shutdown: CancellationToken,
}

impl<P: Hosted> Shared<P> {
    pub(super) fn new(plugin: P, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            plugin,
            configured: AtomicBool::new(false),
            shutdown,
        })
    }

    /// `FAILED_PRECONDITION` until a `SetConfig` succeeded.
    pub(super) fn require_config(&self) -> Result<(), Status> {
        if self.configured.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(Status::failed_precondition(
                "plugin is not configured yet: the host must call SetConfig first",
            ))
        }
    }
}

pub(super) struct PluginService<P>(pub(super) Arc<Shared<P>>);

#[tonic::async_trait]
impl<P: Hosted> plugin_server::Plugin for PluginService<P> {
    async fn plugin_info(
        &self,
        _: Request<v1::PluginInfoRequest>,
    ) -> Result<Response<v1::PluginInfoResponse>, Status> {
        let meta = self.0.plugin.meta();
        Ok(Response::new(v1::PluginInfoResponse {
            r#type: P::TYPE as i32,
            name: meta.name.to_string(),
            version: meta.version.to_string(),
            protocol_versions: APP_PROTOCOL_VERSIONS.to_vec(),
        }))
    }

    async fn config_schema(
        &self,
        _: Request<v1::ConfigSchemaRequest>,
    ) -> Result<Response<v1::ConfigSchemaResponse>, Status> {
        Ok(Response::new(v1::ConfigSchemaResponse {
            json_schema: config::schema_json::<P::Config>(),
        }))
    }

    async fn set_config(
        &self,
        request: Request<v1::SetConfigRequest>,
    ) -> Result<Response<v1::SetConfigResponse>, Status> {
        let request = request.into_inner();
        let decoded = config::decode_str::<P::Config>(&request.config_json);
        let errors = match decoded {
            Err(errors) => errors,
            Ok(config) => {
                let agent = request.agent.unwrap_or_default();
                let agent = AgentInfo {
                    state_dir: agent.state_dir,
                    agent_version: agent.agent_version,
                };
                match self.0.plugin.set_config(config, agent).await {
                    Ok(()) => Vec::new(),
                    Err(e) => vec![v1::ConfigError {
                        field: String::new(),
                        message: e.message,
                    }],
                }
            }
        };
        if errors.is_empty() {
            self.0.configured.store(true, Ordering::Release);
            tracing::info!("configuration accepted");
        } else {
            tracing::warn!(
                errors = %config::render("config", &errors),
                "configuration rejected"
            );
        }
        Ok(Response::new(v1::SetConfigResponse { errors }))
    }
}

pub(super) struct ControllerService(pub(super) CancellationToken);

#[tonic::async_trait]
impl controller_server::Controller for ControllerService {
    async fn shutdown(
        &self,
        _: Request<v1::ShutdownRequest>,
    ) -> Result<Response<v1::ShutdownResponse>, Status> {
        tracing::info!("shutdown requested by the host");
        self.0.cancel();
        Ok(Response::new(v1::ShutdownResponse {}))
    }
}
