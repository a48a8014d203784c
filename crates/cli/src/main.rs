//! `kx`: the user's tool, a thin face over `kx-client`.

use std::process::ExitCode;

fn main() -> ExitCode {
    kx_client::run()
}
