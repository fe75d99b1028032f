# Image for web, worker and beat (docker-compose.yml).  Assets are built with npm at image build time.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hotline ./hotline
COPY worker ./worker
COPY migrations ./migrations
COPY templates ./templates
COPY babel.cfg ./
COPY --from=assets /src/node_modules/bootstrap/dist/css/bootstrap.min.css /src/node_modules/bootstrap/dist/js/bootstrap.bundle.min.js ./hotline/static/vendor/bootstrap/
COPY --from=assets /src/node_modules/echarts/dist/echarts.min.js ./hotline/static/vendor/echarts/
RUN pip install --no-cache-dir -e . && pybabel compile -d hotline/translations
ENV FLASK_APP=hotline HOTLINE_INSTANCE=/app/instance ATTACHMENTS_DIR=/data/attachments
# the attachments' folder (a volume in docker-compose.yml) is the one place the web writes files
RUN mkdir -p /data/attachments && chown nobody /data/attachments
USER nobody
