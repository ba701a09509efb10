-- run once by the postgres image on a fresh volume: newswatch's store beside Prefect's database
CREATE DATABASE newswatch OWNER prefect;
