"""The Pyramid application: main() assembles the portal from includes."""

from pyramid.config import Configurator

DEFAULT_SETTINGS = {
    "tm.manager_hook": "pyramid_tm.explicit_manager",
    "retry.attempts": "3",
    "pyramid.default_locale_name": "zh_CN",
}


def make_config(settings: dict) -> Configurator:
    """Build the configurator; tests use it to add probes before making the app."""
    settings = {**DEFAULT_SETTINGS, **settings}
    config = Configurator(settings=settings, root_factory="portal.resources.root_factory")
    config.include("pyramid_chameleon")
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    config.include(".zodb")
    config.include(".models")
    config.include(".crossstore")
    config.include(".security")
    config.include(".services.accounts")
    config.include(".i18n")
    config.include(".routes")
    config.include(".request_body")
    config.include(".headers")
    config.include(".services.forms")
    config.include(".services.attachments")
    config.include(".services.aggregates")
    config.include(".services.jobs")
    config.include(".housekeeping")
    config.scan(".views")
    return config


def main(global_config, **settings):
    """The WSGI application factory named in the .ini files."""
    return make_config(settings).make_wsgi_app()
