//! The `Plugin` and `Controller` services, and the state all services share.
//!
//! `SetConfig` is the gate: until the driver accepted a config, task calls
//! answer `FAILED_PRECONDITION`, so a driver never sees a task before its
//! own configuration.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use drover_proto::handshake::APP_PROTOCOL_VERSIONS;
use drover_proto::v1::{self, controller_server, plugin_server};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::config;
use crate::driver::{AgentInfo, Driver};

/// What every service of one plugin process shares.
pub(super) struct Shared<D> {
    pub(super) driver: D,
    configured: AtomicBool,
    /// Cancelled by `Controller.Shutdown` or SIGTERM.
    pub(super) shutdown: CancellationToken,
}

impl<D: Driver> Shared<D> {
    pub(super) fn new(driver: D, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            driver,
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

pub(super) struct PluginService<D>(pub(super) Arc<Shared<D>>);

#[tonic::async_trait]
impl<D: Driver> plugin_server::Plugin for PluginService<D> {
    async fn plugin_info(
        &self,
        _: Request<v1::PluginInfoRequest>,
    ) -> Result<Response<v1::PluginInfoResponse>, Status> {
        let meta = self.0.driver.meta();
        Ok(Response::new(v1::PluginInfoResponse {
            r#type: v1::PluginType::Driver as i32,
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
            json_schema: config::schema_json::<D::Config>(),
        }))
    }

    async fn set_config(
        &self,
        request: Request<v1::SetConfigRequest>,
    ) -> Result<Response<v1::SetConfigResponse>, Status> {
        let request = request.into_inner();
        let decoded = config::decode_str::<D::Config>(&request.config_json);
        let errors = match decoded {
            Err(errors) => errors,
            Ok(config) => {
                let agent = request.agent.unwrap_or_default();
                let agent = AgentInfo {
                    state_dir: agent.state_dir,
                    agent_version: agent.agent_version,
                };
                match self.0.driver.set_config(config, agent).await {
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
