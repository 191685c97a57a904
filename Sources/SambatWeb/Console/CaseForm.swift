import Hummingbird
import Logging
import SambatCore
import SambatDesk

extension WebConsole {
    /// Carries out the staff actions a case page's form names, as the signed-in account.
    ///
    /// Checks the form's anti-forgery token first (403 without it), then writes each action
    /// through `actions`; answers a redirect to the case page with `ok=<verb>`, or, when the
    /// use-case layer refuses, what `refused` renders (nothing was written by the refused
    /// action). Both the operator's and an office's console post their forms here.
    /// - Parameters:
    ///   - request: the form post.
    ///   - ticket: the case's ticket from the path.
    ///   - session: the signed-in staff member.
    ///   - actions: the use-case layer's actions.
    ///   - parse: the actions a form's `aksi` and fields name.
    ///   - refused: the case page showing a refusal, with its status.
    /// - Returns: the response.
    /// - Throws: when the body cannot be read or the refusal page cannot be rendered.
    func submitCaseForm(
        _ request: Request,
        ticket: String,
        session: StaffSession,
        actions: CaseActions,
        parse: (String, [String: String]) throws(DeskError) -> [StaffAction],
        refused: (DeskError) async throws -> Response
    ) async throws -> Response {
        let form = try await Self.form(request)
        guard Self.matches(form["_csrf"], session.csrfToken) else { return forbidden(session) }
        let verb = form["aksi"] ?? ""
        let caseID: CaseID
        do throws(DeskError) {
            caseID = try StaffInput.caseID(ticket)
            for action in try parse(verb, form) {
                _ = try await actions.perform(action, on: caseID, actor: session.account.actor, at: configuration.now())
            }
        } catch {
            logger.notice(
                "case action refused",
                metadata: ["web.account": "\(session.account.name)", "desk.code": "\(error.code)"]
            )
            return try await refused(error)
        }
        logger.info("case action", metadata: ["web.account": "\(session.account.name)", "case": "\(caseID)"])
        return Response.redirect(to: "/kasus/\(caseID.rawValue)?ok=\(verb)")
    }
}
