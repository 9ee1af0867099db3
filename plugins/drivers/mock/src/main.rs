//! The `drover-driver-mock` plugin binary: the mock driver served over the
//! plugin protocol. Started by the Drover agent, not by hand.

fn main() {
    drover_plugin_sdk::serve(drover_driver_mock::MockDriver::default())
}
