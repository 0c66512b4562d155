"""URL dispatch for what is not content: login, the JSON API, static assets.

Everything else (the org tree, accounts, audit) is reached by traversal from the site root.
"""

from pyramid.security import NO_PERMISSION_REQUIRED


def site_root(request):
    """The site root, whether or not the request was traversed."""
    return request.zodb.root()["site"]


def includeme(config):
    config.add_request_method(site_root, "root_site", reify=True)
    config.add_static_view(
        "static", "portal:static", cache_max_age=3600, permission=NO_PERMISSION_REQUIRED
    )
    config.add_static_view(
        "deform_static", "deform:static", cache_max_age=3600, permission=NO_PERMISSION_REQUIRED
    )
    # The forms library's browser runtime (skip logic, calculations, checks).
    config.add_static_view(
        "forms_static", "forms:static", cache_max_age=3600, permission=NO_PERMISSION_REQUIRED
    )
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("api_tokens", "/api/v1/tokens")
    config.add_route("api_token_current", "/api/v1/tokens/current")
    config.add_route("api_me", "/api/v1/me")
    config.add_route("api_orgunit", "/api/v1/orgunits/{code}")
    config.add_route("api_openapi", "/api/v1/openapi.json")
    config.add_route("api_forms", "/api/v1/forms")
    config.add_route("api_form", "/api/v1/forms/{name}")
    config.add_route("api_form_publish", "/api/v1/forms/{name}/publish")
    config.add_route("api_form_xlsform", "/api/v1/forms/{name}/xlsform")
    config.add_route("api_form_submissions", "/api/v1/forms/{name}/submissions")
    config.add_route("api_submission", "/api/v1/submissions/{id}")
    # A record's own routes have the record as their context (its ACL).
    from portal.views.api_review import query_factory, record_factory

    config.add_route(
        "api_submission_transitions",
        "/api/v1/submissions/{id}/transitions",
        factory=record_factory,
    )
    config.add_route(
        "api_submission_history", "/api/v1/submissions/{id}/history", factory=record_factory
    )
    config.add_route(
        "api_submission_queries", "/api/v1/submissions/{id}/queries", factory=record_factory
    )
    config.add_route("api_query_messages", "/api/v1/queries/{id}/messages", factory=query_factory)
    config.add_route("api_transitions", "/api/v1/transitions")
    config.add_route("api_inbox", "/api/v1/inbox")
    config.add_route("api_referrals", "/api/v1/referrals")
    config.add_route("api_referral_partners", "/api/v1/referrals/partners")  # before {id}
    config.add_route("api_referral", "/api/v1/referrals/{id}")
    config.add_route("api_referral_transitions", "/api/v1/referrals/{id}/transitions")
    config.add_route("referrals", "/referrals")
    config.add_route("referral_partners", "/referrals/partners")  # before {id}
    config.add_route("referral", "/referrals/{id}")
    config.add_route("api_period_approvals", "/api/v1/period-approvals")
    config.add_route("api_period_unapprove", "/api/v1/period-approvals/unapprove")
    config.add_route("api_reports", "/api/v1/reports")
    config.add_route("api_report", "/api/v1/reports/{name}")
    config.add_route("api_job", "/api/v1/jobs/{id}")
    config.add_route("api_job_status", "/api/v1/jobs/{id}/status")
    config.add_route("job", "/jobs/{id}")
    config.add_route("reports", "/reports")
    config.add_route("report_indicators", "/reports/indicators")  # before /reports/{name}
    config.add_route("report", "/reports/{name}")
    config.add_route("report_edit", "/reports/{name}/edit")
    config.add_route("report_download", "/reports/{name}/download")
    config.add_route("api_attachments", "/api/v1/attachments")
    config.add_route("api_attachment", "/api/v1/attachments/{id}")
    # Files of submissions for the pages (the same checks as the API's).
    config.add_route("attachment", "/attachments/{id}")
    config.add_route("attachment_thumbnail", "/attachments/{id}/thumbnail")
    # The reference figures of the caller's part of the tree (redirects to its top unit).
    config.add_route("reference", "/reference")
