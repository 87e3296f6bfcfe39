"""The monitoring dashboard, served by the API itself (what Flower was for the seed's users).

`router` holds the pages (`/`, `/jobs/{name}`), their static files and
`GET /v1/trainingjobs/{name}/model`; the app factory includes it with
`app.include_router(dashboard.router)`. See docs/dashboard.md.
"""

from wattcast.api.dashboard.routes import router

__all__ = ["router"]
