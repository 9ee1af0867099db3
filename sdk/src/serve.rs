//! `serve()`: TO BE IMPLEMENTED.

use crate::Driver;

/// Run `driver` as a plugin process. Never returns.
pub fn serve<D: Driver>(driver: D) -> ! {
    let _ = driver;
    std::process::exit(1)
}
