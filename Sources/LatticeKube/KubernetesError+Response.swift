import Foundation
import NIOCore
import NIOFoundationCompat

extension KubernetesError {
    /// The error for a non-2xx response: the one place HTTP failures are classified.
    ///
    /// - Parameters:
    ///   - httpStatus: The response's status code.
    ///   - reasonPhrase: The status's reason phrase (`Forbidden`).
    ///   - retryAfterHeader: The `Retry-After` header, if any (seconds; HTTP dates are ignored).
    ///   - body: The response body; a Kubernetes `Status` contributes its message.
    ///   - request: The request, as `METHOD /path`, for the message.
    /// - Returns: The classified error.
    static func response(
        httpStatus: Int,
        reasonPhrase: String,
        retryAfterHeader: String?,
        body: ByteBuffer,
        request: String
    ) -> KubernetesError {
        let status = try? JSONDecoder().decode(KubernetesStatus.self, from: body)
        let apiStatus = status?.kind == "Status" ? status : nil
        var reason = "\(request): HTTP \(httpStatus) \(reasonPhrase)"
        if let message = apiStatus?.message, !message.isEmpty {
            reason += ": \(message)"
        } else if body.readableBytes > 0 {
            let text = String(buffer: body)
            let snippet = text.count > 200 ? String(text.prefix(200)) + "…" : text
            reason += ": \(snippet.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        let retryAfterSeconds =
            retryAfterHeader.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            ?? apiStatus?.details?.retryAfterSeconds
        return KubernetesError(
            code: .forHTTPStatus(httpStatus),
            reason: reason,
            httpStatus: httpStatus,
            retryAfter: retryAfterSeconds.map { .seconds(max(0, $0)) },
            status: apiStatus
        )
    }

    /// The error for a watch `ERROR` event; a 410 (or reason `Expired`/`Gone`) becomes ``Code/gone``.
    ///
    /// - Parameters:
    ///   - status: The event's `Status`.
    ///   - request: The watch request, as `GET /path`, for the message.
    /// - Returns: The classified error.
    static func watchError(_ status: KubernetesStatus, request: String) -> KubernetesError {
        let httpStatus: Int
        if let code = status.code {
            httpStatus = code
        } else if status.reason == "Expired" || status.reason == "Gone" {
            httpStatus = 410
        } else {
            httpStatus = 500
        }
        let message = status.message ?? status.reason ?? "no message"
        return KubernetesError(
            code: .forHTTPStatus(httpStatus),
            reason: "\(request): watch ERROR event (\(httpStatus)): \(message)",
            httpStatus: httpStatus,
            retryAfter: status.details?.retryAfterSeconds.map { .seconds(max(0, $0)) },
            status: status
        )
    }
}
