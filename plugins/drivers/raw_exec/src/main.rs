fn main() {
    drover_plugin_sdk::serve(drover_driver_raw_exec::RawExec::default())
}
