fn main() {
    drover_plugin_sdk::serve_fetcher(drover_fetcher_http::HttpFetcher::default())
}
