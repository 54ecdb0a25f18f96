import Logging

/// What every connection of the proxy shares: its configuration, credentials, metrics and logger.
struct ProxyContext: Sendable {
    let config: ProxyConfig
    let credentials: ProxyCredentials
    let metrics: ProxyMetrics
    let logger: Logger
}
