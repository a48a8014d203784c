//! The one error of the app: what stops it from starting or serving. A failure of an operation
//! the user asked for is not one of these: it is shown on the screen, as the manual's dialog.

/// The app's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why the app could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The port asked for is taken, or no port could be had on 127.0.0.1.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen {
        /// The port asked for (0: any).
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime or the listener failed.
    #[error("the app's server: {0}")]
    Serve(#[source] std::io::Error),
    /// The profile (its lock, its files) or another instance's hand-off failed.
    #[error(transparent)]
    Client(#[from] kx_client::Error),
}
