//! [`serve`]: run a [`Driver`] as a plugin process; [`serve_fetcher`]: run a
//! [`Fetcher`].
//!
//! A plugin's `main` is one line; everything the protocol asks of a process
//! (see `docs/plugin-protocol.md`) happens here, in this order:
//!
//! 1. (drivers) become an executor instead, if started as one ([`crate::executor`]);
//! 2. check the magic cookie and negotiate the protocol version, or print why
//!    not and exit 1;
//! 3. log JSON lines to stderr (filter from `DROVER_PLUGIN_LOG`, default `info`);
//! 4. bind `<socket dir>/plugin.sock` and serve health (`plugin` = SERVING),
//!    `Plugin`, `Controller` and `Driver` (or `Fetcher`) on it;
//! 5. print the handshake line on stdout;
//! 6. ignore SIGINT; on SIGTERM or `Controller.Shutdown`, stop accepting, give
//!    in-flight calls [`SHUTDOWN_GRACE`], remove the socket and exit 0. Tasks
//!    keep running: their processes are not the plugin's to kill.
//!    A fetcher also shuts down when its host process is gone: it has no
//!    state worth reattaching to.

mod convert;
mod driver_service;
mod env;
mod exec;
mod fetcher_service;
mod plugin_service;
mod socket;
mod streams;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use drover_proto::handshake::{HEALTH_SERVICE, HandshakeLine};
use drover_proto::v1::{controller_server, driver_server, fetcher_server, plugin_server};
use tokio::signal::unix::{SignalKind, signal};
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use crate::{Driver, Fetcher};
use driver_service::DriverService;
use fetcher_service::FetcherService;
use plugin_service::{
    ControllerService, DriverPlugin, FetcherPlugin, Hosted, PluginService, Shared,
};
use socket::Socket;
use tonic::transport::server::Router;

/// How long in-flight calls may run after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Run `driver` as a plugin process. Never returns: the process exits 0
/// after a graceful shutdown and 1 when it cannot serve.
pub fn serve<D: Driver>(driver: D) -> ! {
    crate::executor::run_if_executor();
    serve_plugin(DriverPlugin(driver), false, |router, shared| {
        router.add_service(driver_server::DriverServer::new(DriverService(shared)))
    })
}

/// Run `fetcher` as an artifact fetcher plugin process. Never returns, like
/// [`serve`]; also exits (0) once the host process is gone.
pub fn serve_fetcher<F: Fetcher>(fetcher: F) -> ! {
    serve_plugin(FetcherPlugin(fetcher), true, |router, shared| {
        router.add_service(fetcher_server::FetcherServer::new(FetcherService(shared)))
    })
}

fn serve_plugin<P: Hosted>(
    plugin: P,
    follow_parent: bool,
    typed: impl FnOnce(Router, Arc<Shared<P>>) -> Router,
) -> ! {
    let name = plugin.meta().name;
    let setup = match env::setup(name, |key| std::env::var(key).ok()) {
        Ok(setup) => setup,
        Err(message) => fail(&message),
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => fail(&format!(
            "plugin {name:?}: cannot start the async runtime: {e}"
        )),
    };
    let code = runtime.block_on(run(plugin, setup, follow_parent, typed));
    // Exit without dropping the runtime: a driver's background tasks must not
    // hold the process open, and nothing they own is killed on the way out.
    std::process::exit(code)
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1)
}

/// JSON lines on stderr, keys at the top level: `timestamp`, `level`,
/// `message`, `target` and the event's fields.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let configured = std::env::var(env::LOG_FILTER_KEY).ok();
    let (filter, bad) = match configured.as_deref().map(EnvFilter::try_new) {
        None => (EnvFilter::new("info"), None),
        Some(Ok(filter)) => (filter, None),
        Some(Err(e)) => (EnvFilter::new("info"), Some(e)),
    };
    let installed = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A host killed with SIGKILL leaves stderr a broken pipe until a new host
        // reattaches: log lines are then lost, and must not panic the handler that
        // logs them (tracing-subscriber reports write errors with `eprint!`, which
        // panics on a broken stderr).
        .log_internal_errors(false)
        .try_init();
    if let Err(e) = installed {
        eprintln!("cannot install the plugin's logger: {e}");
    }
    if let Some(e) = bad {
        tracing::warn!(error = %e, "{} is not a valid filter; logging at info", env::LOG_FILTER_KEY);
    }
}

async fn run<P: Hosted>(
    plugin: P,
    setup: env::Setup,
    follow_parent: bool,
    typed: impl FnOnce(Router, Arc<Shared<P>>) -> Router,
) -> i32 {
    let name = plugin.meta().name;
    let shutdown = CancellationToken::new();
    if let Err(e) = watch_signals(shutdown.clone()) {
        tracing::error!(error = %e, "cannot install signal handlers");
        return 1;
    }
    if follow_parent {
        // Read now: the host may be gone before the spawned task first runs.
        let parent = std::os::unix::process::parent_id();
        tokio::spawn(watch_parent(parent, shutdown.clone()));
    }
    let (socket, listener) = match Socket::bind(setup.socket_dir.as_deref()) {
        Ok(bound) => bound,
        Err(e) => {
            tracing::error!(plugin = name, "{e}");
            return 1;
        }
    };
    let incoming = match tokio::net::UnixListener::from_std(listener) {
        Ok(listener) => UnixListenerStream::new(listener),
        Err(e) => {
            tracing::error!(error = %e, "cannot register the socket with the runtime");
            socket.remove();
            return 1;
        }
    };

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(HEALTH_SERVICE, ServingStatus::Serving)
        .await;
    let shared = Shared::new(plugin, shutdown.clone());
    let router = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(plugin_server::PluginServer::new(PluginService(
            shared.clone(),
        )))
        .add_service(controller_server::ControllerServer::new(ControllerService(
            shutdown.clone(),
        )));
    let router = typed(router, shared);
    let mut server = tokio::spawn(
        router.serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned()),
    );

    let line = HandshakeLine::unix(setup.version, socket.path.to_string_lossy());
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::error!(error = %e, "cannot print the handshake line; is the host gone?");
        shutdown.cancel();
    }
    drop(stdout);
    tracing::info!(socket = %socket.path.display(), version = setup.version, "serving");

    // The server also ends when shutdown fires; only an end without a
    // shutdown request is a failure.
    let outcome = tokio::select! {
        biased;
        () = shutdown.cancelled() => tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await.ok(),
        ended = &mut server => Some(ended),
    };
    let code = match (shutdown.is_cancelled(), outcome) {
        (false, ended) => {
            tracing::error!(result = ?ended, "server stopped unexpectedly");
            1
        }
        (true, Some(Ok(Ok(())))) => {
            tracing::info!("stopped");
            0
        }
        (true, Some(Ok(Err(e)))) => {
            tracing::warn!(error = %e, "server ended with an error");
            0
        }
        (true, Some(Err(e))) => {
            tracing::warn!(error = %e, "server task failed");
            0
        }
        (true, None) => {
            tracing::warn!(
                "in-flight calls still running after {SHUTDOWN_GRACE:?}; exiting anyway"
            );
            0
        }
    };
    socket.remove();
    code
}

/// SIGINT is ignored (the host decides when plugins stop; Ctrl-C in the
/// host's terminal reaches the whole process group). SIGTERM shuts down.
///
/// A handler, not `SIG_IGN`: an ignored disposition would be inherited by
/// every task process the driver spawns.
fn watch_signals(shutdown: CancellationToken) -> std::io::Result<()> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = interrupt.recv() => {
                    tracing::info!("ignoring SIGINT: the host controls shutdown");
                }
                _ = terminate.recv() => {
                    tracing::info!("SIGTERM: shutting down");
                    shutdown.cancel();
                }
                () = shutdown.cancelled() => break,
            }
        }
    });
    Ok(())
}

/// Shut down once the process that started this one is gone (we were
/// re-parented): nothing else would ever stop a plugin whose host was killed.
async fn watch_parent(parent: u32, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        if std::os::unix::process::parent_id() != parent {
            tracing::info!(parent, "the host process is gone: shutting down");
            shutdown.cancel();
            return;
        }
    }
}
