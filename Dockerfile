FROM langchain/langgraph-api:3.11



# -- Adding local package . --
ADD . /deps/main
# -- End of local package . --

# -- Installing all local dependencies --
RUN for dep in /deps/*; do             echo "Installing $dep";             if [ -d "$dep" ]; then                 echo "Installing $dep";                 (cd "$dep" && PYTHONDONTWRITEBYTECODE=1 uv pip install --system --no-cache-dir -c /api/constraints.txt -e .);             fi;         done
# -- End of local dependencies install --
ENV LANGGRAPH_AUTH='{"path": "/deps/main/serving/auth.py:auth", "disable_studio_auth": true}'
ENV LANGGRAPH_HTTP='{"app": "/deps/main/serving/http_app.py:app", "enable_custom_route_auth": true, "cors": {"allow_origins": ["https://smith.langchain.com", "https://eu.smith.langchain.com"], "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], "allow_headers": ["authorization", "content-type", "x-auth-scheme", "x-api-key", "x-tenant-id", "x-user-id"], "allow_credentials": true, "expose_headers": ["x-pagination-total", "x-pagination-next", "content-location"], "max_age": 600}}'
ENV LANGSERVE_GRAPHS='{"agent": "/deps/main/graphs/agent.py:graph"}'



# -- Ensure user deps didn't inadvertently overwrite langgraph-api
RUN mkdir -p /api/langgraph_api /api/langgraph_runtime /api/langgraph_license && touch /api/langgraph_api/__init__.py /api/langgraph_runtime/__init__.py /api/langgraph_license/__init__.py
RUN PYTHONDONTWRITEBYTECODE=1 uv pip install --system --no-cache-dir --no-deps -e /api
# -- End of ensuring user deps didn't inadvertently overwrite langgraph-api --
# -- Removing build deps from the final image ~<:===~~~ --
RUN pip uninstall -y pip setuptools wheel
RUN rm -rf /usr/local/lib/python*/site-packages/pip* /usr/local/lib/python*/site-packages/setuptools* /usr/local/lib/python*/site-packages/wheel* && find /usr/local/bin -name "pip*" -delete || true
RUN rm -rf /usr/lib/python*/site-packages/pip* /usr/lib/python*/site-packages/setuptools* /usr/lib/python*/site-packages/wheel* && find /usr/bin -name "pip*" -delete || true
RUN uv pip uninstall --system pip setuptools wheel && rm /usr/bin/uv /usr/bin/uvx

WORKDIR /deps/main